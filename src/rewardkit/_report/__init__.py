"""The HTML report's machinery (private): formatting, SVG charts, the page."""
