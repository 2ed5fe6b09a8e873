"""The open exchange format (docs/exchange-format.md): an agency's whole
history as CSV and GeoJSON Lines files any system can read and write."""
