"""Reports drawn from the store: the court report PDF (WeasyPrint)."""
