"""The report: HTML and Markdown written from the analysis."""
