"""Authoring sources of the bundled sample space (not shipped in the wheel):
`python -m tools.sample_space.build` rewrites emulator/sample/*.jsonl from them."""
