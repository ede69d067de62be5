"""Pure file readers: bytes in, records out (`regie.treasury.records`). No database, no side effect.

One module per format — `camt` (camt.054 and camt.053), `cfonb120`, `csv_format` (Régie's own CSV)
— and `detect` to recognise a file and dispatch to its reader (`read_any`).

The rule for partial acceptance:

- A structurally broken file — not XML, a DOCTYPE or ENTITY declaration, an unknown camt version,
  a CFONB statement whose new balance is not the old balance plus its movements, a CFONB file
  without any old-balance record 01, a CSV file without the required header … — makes the reader
  raise `StructuralError` before any entry is handed out, and nothing of that file is applied.
- Otherwise each entry is either a `BankEntry` or a `RejectedEntry` giving its position and the
  reason (foreign currency, impossible date, zero or malformed amount, truncated record …); the
  accepted entries are applied and the rejected ones reported. Iterating over
  `ReadResult.entries` never raises `StructuralError`.

camt files are streamed with constant memory: the whole document is checked in a first streaming
pass, then the entries are parsed one at a time in a second. The second pass does not rely on the
first (`read_entries` runs it alone, for a process reading the entries while another checks the
file). CFONB and CSV files, which are small, are checked as a whole up front.
"""

from regie.treasury.readers.detect import (
    detect_format,
    entries_read_apart,
    read_any,
    read_entries,
    register_format,
)

__all__ = ["detect_format", "entries_read_apart", "read_any", "read_entries", "register_format"]
