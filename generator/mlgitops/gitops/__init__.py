"""The wiring Argo CD and Flux read, and the whole generated tree: Argo CD Applications and the config management
plugin (its entry points and answer cache), Flux Kustomizations and their RBAC, deployment units, the render cache,
the sidecar image and `init`'s scaffold. May import `layout`, `render`, `language` and `util`."""
