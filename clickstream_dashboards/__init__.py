"""The analyst dashboards: a Streamlit app over the marts, on the local lake or on Athena.

``queries`` holds every query the pages run (through ``lakehouse.warehouse``, one SQL for both
targets); ``views/`` renders them; ``app`` is the entry point ``clickstream dashboards`` serves.
"""
