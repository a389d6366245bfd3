"""Reports: the typed results rendered as files (summary.json, CSV, charts, report.md) and as text; reports never build model parts."""
