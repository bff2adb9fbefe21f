"""One module a page, each with ``render()``; ``app`` lists them in the navigation."""
