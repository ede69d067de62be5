"""The camt reader streams: memory while reading does not grow with the number of entries."""

from __future__ import annotations

import sys
import tracemalloc
from pathlib import Path

import pytest

from regie.treasury.readers import camt
from regie.treasury.records import BankEntry

ENTRY_COUNT = 20_000

HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.08">
  <BkToCstmrDbtCdtNtfctn>
    <GrpHdr><MsgId>BIG-0001</MsgId><CreDtTm>2026-03-02T07:00:00+01:00</CreDtTm></GrpHdr>
    <Ntfctn>
      <Id>BIG-0001-1</Id>
      <Acct><Id><IBAN>FR7630004005670001234567876</IBAN></Id></Acct>
"""
ENTRY = """      <Ntry>
        <NtryRef>{n}</NtryRef>
        <Amt Ccy="EUR">{euros}.{cents:02d}</Amt>
        <CdtDbtInd>CRDT</CdtDbtInd>
        <Sts><Cd>BOOK</Cd></Sts>
        <BookgDt><Dt>2026-03-02</Dt></BookgDt>
        <ValDt><Dt>2026-03-02</Dt></ValDt>
        <AcctSvcrRef>20260302{n:08d}</AcctSvcrRef>
        <BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>ESCT</SubFmlyCd></Fmly></Domn></BkTxCd>
        <NtryDtls>
          <TxDtls>
            <Refs><EndToEndId>E2E-{n:08d}</EndToEndId></Refs>
            <Amt Ccy="EUR">{euros}.{cents:02d}</Amt>
            <RltdPties>
              <Dbtr><Pty><Nm>LOCATAIRE NUMERO {n:08d}</Nm></Pty></Dbtr>
              <DbtrAcct><Id><IBAN>FR7630003036200005091234507</IBAN></Id></DbtrAcct>
            </RltdPties>
            <RmtInf><Ustrd>LOYER MARS 2026 LOGEMENT {n} RESIDENCE LES TILLEULS</Ustrd></RmtInf>
          </TxDtls>
        </NtryDtls>
        <AddtlNtryInf>VIR SEPA RECU /DE LOCATAIRE NUMERO {n:08d}</AddtlNtryInf>
      </Ntry>
"""
TAIL = """    </Ntfctn>
  </BkToCstmrDbtCdtNtfctn>
</Document>
"""


def amount_cents(n: int) -> int:
    return 30_000 + n % 50_000


def write_big_notification(path: Path) -> None:
    with path.open("w", encoding="utf-8") as out:
        out.write(HEAD)
        for n in range(1, ENTRY_COUNT + 1):
            euros, cents = divmod(amount_cents(n), 100)
            out.write(ENTRY.format(n=n, euros=euros, cents=cents))
        out.write(TAIL)


def resident_kib() -> int | None:
    """Resident set size of this process (Linux), which also counts libxml2's own allocations."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return None


def test_reading_a_large_notification_keeps_memory_far_below_the_file_size(
    tmp_path: Path,
) -> None:
    path = tmp_path / "big.xml"
    write_big_notification(path)
    data = path.read_bytes()
    file_kib = len(data) // 1024

    rss_before = resident_kib()
    rss_peak = rss_before
    count = 0
    total = 0
    tracemalloc.start()
    try:
        for record in camt.read(data).entries:
            assert isinstance(record, BankEntry)
            count += 1
            total += record.amount_cents
            if count % 500 == 0 and rss_peak is not None:
                rss_peak = max(rss_peak, resident_kib() or 0)
        _, python_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert count == ENTRY_COUNT
    assert total == sum(amount_cents(n) for n in range(1, ENTRY_COUNT + 1))
    # Python-level allocations: no list of all entries or elements is kept.
    assert python_peak < len(data) / 10, (python_peak, len(data))
    # tracemalloc cannot see libxml2's tree, so the resident size is checked too: a tree of the
    # whole document would take several times the file size.
    if rss_before is None or rss_peak is None:
        if sys.platform.startswith("linux"):
            pytest.fail("/proc/self/status is unreadable on Linux")
        return
    assert rss_peak - rss_before < file_kib / 4, (rss_peak - rss_before, file_kib)
