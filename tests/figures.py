"""Lines tests want printed after the run (cases tried, latencies, memory); conftest prints them."""

FIGURES: list[str] = []
