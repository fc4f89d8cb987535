"""The `pipelines` command line (embedded runtime).

May import domain, handlers and bootstrap; config, processors and shared.demo only inside
a function (lazy edges: the `demo` verb, say; the demo is never deployed)."""
