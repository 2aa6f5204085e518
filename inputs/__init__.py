"""Other inputs: settlement gazetteers, population sources, names and transliteration, data fetch."""
