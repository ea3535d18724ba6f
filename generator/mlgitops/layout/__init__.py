"""Objects to files: the base and overlay directories and their bytes, the hand-written `base/platform/` tree, the
atomic tree writer and its journal, Kustomize and the byte-exact stream it prints. May import `render`, `language`
and `util`."""
