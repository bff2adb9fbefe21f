"""One module a page, each with ``render()``; ``app`` lists them in the navigation.

Not named ``pages/``: Streamlit would take a ``pages/`` folder beside the entry point for its
older file-based navigation and list every module as a page of its own.
"""
