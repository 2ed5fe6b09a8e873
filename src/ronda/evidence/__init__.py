"""Evidence for courts and investigators: what a report says, what a bundle
holds and how it is checked. Pure: no framework, database or settings (the
PDF is drawn by `ronda.reports`, the data gathered by adapters)."""
