"""Treasury: reading bank and treasury files, importing them, receiving pushed confirmations."""
