"""The cmsportal benchmark harness: `python -m bench --scale N --out DIR` (see bench/README.md)."""
