"""`mlgitops status`: what runs where, whether it is healthy, and whether the cluster still matches Git.

`live` talks to the API server (the official `kubernetes` client's REST layer, every call bounded in
time, reads and dry runs only); `report` puts the render of an environment beside the live objects,
per model; `output` writes the text, JSON and markdown forms. Nothing here is imported by the render,
`cmp generate` or `validate` paths.
"""
