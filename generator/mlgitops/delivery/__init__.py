"""Moving a rendered change towards a cluster and reading it back: Git access, `diff` between revisions,
promotion and its history, the model registry, and `status` against a live cluster. May import every stage below
it (`gitops`, `checks`, `layout`, `render`, `language`, `util`)."""
