"""The command line, kept thin over the library: one module per command holds its flags, its `--help` text and
its handler (parse, call one library function, print the result); main.py assembles the parser and turns errors
into one line each. Command modules import their library modules only when they run, so `mlgitops cmp generate`
(the Argo CD hot path) loads nothing it does not use. May import every stage."""
