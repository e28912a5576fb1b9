"""What every API of the project shares.

- ``queries``: reading query-string parameters (whole numbers, page and page size).
- ``errors``: the error answers and their OpenAPI descriptions.
- ``pagination``: the page envelope ``{count, page, pages, page_size, next, previous, results}``.
- ``routing``: several one-action API classes on one URL, chosen by HTTP method.
"""
