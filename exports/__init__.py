"""Pure workbook writers: subsector ledgers, tier reports, formula-safe text; values in."""
