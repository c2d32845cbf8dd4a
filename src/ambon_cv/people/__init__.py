"""Real people: the build-time teacher, its labels on real frames, and the sheet to check them."""
