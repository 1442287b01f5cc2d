"""Development tools, apart from the pages' logic: start the app for tests and benchmarks (serve),
and the app and Live benchmarks (``python -m webapp.dev.bench``, ``python -m webapp.dev.live_bench``)."""
