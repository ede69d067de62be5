"""Writers of bank files to the layouts banks use, for the import tests (and the bench).

camt.054 / camt.053 follow ISO 20022 (status as text up to version 04 and as ``Sts/Cd`` from 05;
the debtor under ``Dbtr/Nm`` up to 07 and ``Dbtr/Pty/Nm`` from 08); CFONB 120 follows the French
fixed-width statement (records 01/04/05/07); the CSV follows Régie's own documented columns.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from xml.sax.saxutils import escape

ACCOUNT_IBAN = "FR7630004005670001234567876"


@dataclass(frozen=True)
class Tx:
    amount: str  # "512.30"
    ref: str | None  # Ntry/AcctSvcrRef: the bank's booking reference (entry identity)
    booked: date = date(2026, 3, 3)
    credit: bool = True
    status: str = "BOOK"
    payer: str | None = None
    payer_iban: str | None = None
    ustrd: tuple[str, ...] = ()
    creditor_ref: str | None = None
    end_to_end: str | None = None
    mandate: str | None = None
    reversal: bool = False
    return_reason: str | None = None
    domain: tuple[str, str, str] = ("PMNT", "RCDT", "ESCT")
    extra: dict[str, str] = field(default_factory=dict)


def _status(version: str, code: str) -> str:
    return f"<Sts>{code}</Sts>" if int(version) <= 4 else f"<Sts><Cd>{code}</Cd></Sts>"


def _debtor(version: str, name: str) -> str:
    if int(version) >= 8:
        return f"<Dbtr><Pty><Nm>{escape(name)}</Nm></Pty></Dbtr>"
    return f"<Dbtr><Nm>{escape(name)}</Nm></Dbtr>"


def _entry(version: str, tx: Tx) -> str:
    indicator = "CRDT" if tx.credit else "DBIT"
    refs = ""
    if tx.end_to_end or tx.mandate:
        refs = "<Refs>"
        refs += f"<EndToEndId>{escape(tx.end_to_end or 'NOTPROVIDED')}</EndToEndId>"
        if tx.mandate:
            refs += f"<MndtId>{escape(tx.mandate)}</MndtId>"
        refs += "</Refs>"
    parties = ""
    if tx.payer or tx.payer_iban:
        parties = "<RltdPties>"
        if tx.payer:
            parties += _debtor(version, tx.payer)
        if tx.payer_iban:
            parties += f"<DbtrAcct><Id><IBAN>{tx.payer_iban}</IBAN></Id></DbtrAcct>"
        parties += "</RltdPties>"
    remittance = ""
    if tx.ustrd or tx.creditor_ref:
        remittance = "<RmtInf>"
        remittance += "".join(f"<Ustrd>{escape(u)}</Ustrd>" for u in tx.ustrd)
        if tx.creditor_ref:
            remittance += (
                "<Strd><CdtrRefInf><Tp><CdOrPrtry><Cd>SCOR</Cd></CdOrPrtry><Issr>ISO</Issr></Tp>"
                f"<Ref>{tx.creditor_ref}</Ref></CdtrRefInf></Strd>"
            )
        remittance += "</RmtInf>"
    returned = ""
    if tx.return_reason:
        returned = f"<RtrInf><Rsn><Cd>{tx.return_reason}</Cd></Rsn></RtrInf>"
    amount = (
        f'<AmtDtls><TxAmt><Amt Ccy="EUR">{tx.amount}</Amt></TxAmt></AmtDtls>'
        if version == "02"
        else f'<Amt Ccy="EUR">{tx.amount}</Amt>'
    )
    domain, family, sub_family = tx.domain
    return (
        f'<Ntry><Amt Ccy="EUR">{tx.amount}</Amt><CdtDbtInd>{indicator}</CdtDbtInd>'
        + ("<RvslInd>true</RvslInd>" if tx.reversal else "")
        + _status(version, tx.status)
        + f"<BookgDt><Dt>{tx.booked.isoformat()}</Dt></BookgDt>"
        + f"<ValDt><Dt>{tx.booked.isoformat()}</Dt></ValDt>"
        + (f"<AcctSvcrRef>{tx.ref}</AcctSvcrRef>" if tx.ref else "")
        + f"<BkTxCd><Domn><Cd>{domain}</Cd><Fmly><Cd>{family}</Cd>"
        + f"<SubFmlyCd>{sub_family}</SubFmlyCd></Fmly></Domn></BkTxCd>"
        + f"<NtryDtls><TxDtls>{refs}{amount}{parties}{remittance}{returned}</TxDtls></NtryDtls>"
        + "</Ntry>"
    )


def camt054(
    txs: list[Tx], *, version: str = "08", message_id: str = "N054-TEST-1", page: int | None = None
) -> bytes:
    namespace = f"urn:iso:std:iso:20022:tech:xsd:camt.054.001.{version}"
    pagination = (
        f"<MsgPgntn><PgNb>{page}</PgNb><LastPgInd>false</LastPgInd></MsgPgntn>" if page else ""
    )
    body = "".join(_entry(version, tx) for tx in txs)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<Document xmlns="{namespace}"><BkToCstmrDbtCdtNtfctn>'
        f"<GrpHdr><MsgId>{message_id}</MsgId><CreDtTm>2026-03-03T18:30:00+01:00</CreDtTm>"
        f"{pagination}</GrpHdr>"
        f"<Ntfctn><Id>{message_id}-1</Id><CreDtTm>2026-03-03T18:30:00+01:00</CreDtTm>"
        f"<Acct><Id><IBAN>{ACCOUNT_IBAN}</IBAN></Id><Ccy>EUR</Ccy></Acct>{body}</Ntfctn>"
        "</BkToCstmrDbtCdtNtfctn></Document>\n"
    ).encode()


def camt053(
    txs: list[Tx], *, version: str = "04", message_id: str = "STMT-TEST-1", opening: int = 0
) -> bytes:
    """A statement whose opening and closing balances agree with its entries (amounts in cents)."""
    namespace = f"urn:iso:std:iso:20022:tech:xsd:camt.053.001.{version}"
    closing = opening + sum(
        (1 if tx.credit else -1) * round(float(tx.amount) * 100)
        for tx in txs
        if tx.status == "BOOK"
    )

    def balance(code: str, cents: int) -> str:
        sign = "CRDT" if cents >= 0 else "DBIT"
        return (
            f"<Bal><Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp>"
            f'<Amt Ccy="EUR">{abs(cents) // 100}.{abs(cents) % 100:02d}</Amt>'
            f"<CdtDbtInd>{sign}</CdtDbtInd><Dt><Dt>2026-03-03</Dt></Dt></Bal>"
        )

    body = "".join(_entry(version, tx) for tx in txs)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<Document xmlns="{namespace}"><BkToCstmrStmt>'
        f"<GrpHdr><MsgId>{message_id}</MsgId><CreDtTm>2026-03-03T22:00:00Z</CreDtTm></GrpHdr>"
        f"<Stmt><Id>{message_id}-1</Id><CreDtTm>2026-03-03T22:00:00Z</CreDtTm>"
        f"<Acct><Id><IBAN>{ACCOUNT_IBAN}</IBAN></Id><Ccy>EUR</Ccy></Acct>"
        f"{balance('OPBD', opening)}{balance('CLBD', closing)}{body}</Stmt>"
        "</BkToCstmrStmt></Document>\n"
    ).encode()


# --- CFONB 120 -----------------------------------------------------------------------------------

_POSITIVE = "{ABCDEFGHI"
_NEGATIVE = "}JKLMNOPQR"
BANK, BRANCH, ACCOUNT = "30004", "00567", "00012345678"


def _amount(cents: int) -> str:
    digits = f"{abs(cents):014d}"
    last = (_POSITIVE if cents >= 0 else _NEGATIVE)[int(digits[-1])]
    return digits[:-1] + last


def _record(code: str, day: date, *, body: dict[tuple[int, int], str]) -> str:
    line = [" "] * 120

    def put(first: int, last: int, text: str) -> None:
        width = last - first + 1
        line[first - 1 : last] = list(text.ljust(width)[:width])

    put(1, 2, code)
    put(3, 7, BANK)
    put(12, 16, BRANCH)
    put(17, 19, "EUR")
    put(20, 20, "2")
    put(22, 32, ACCOUNT)
    put(35, 40, day.strftime("%d%m%y"))
    for (first, last), text in body.items():
        put(first, last, text)
    return "".join(line)


@dataclass(frozen=True)
class Movement:
    cents: int  # signed: positive = credit
    number: str  # entry number (positions 82–88)
    label: str
    reference: str = ""
    payer: str | None = None
    remittance: tuple[str, ...] = ()
    rejection: str = ""
    day: date = date(2026, 3, 3)


def cfonb120(movements: list[Movement], *, opening: int = 0, newline: str = "\r\n") -> bytes:
    day = date(2026, 3, 3)
    lines = [_record("01", date(2026, 3, 2), body={(91, 104): _amount(opening)})]
    for m in movements:
        lines.append(
            _record(
                "04",
                m.day,
                body={
                    (8, 11): "0001",
                    (33, 34): "05",
                    (41, 42): m.rejection,
                    (43, 48): m.day.strftime("%d%m%y"),
                    (49, 79): m.label,
                    (82, 88): m.number,
                    (91, 104): _amount(m.cents),
                    (105, 120): m.reference,
                },
            )
        )
        complements = [("NPY", m.payer)] if m.payer else []
        complements += [("LCC", text) for text in m.remittance]
        for qualifier, text in complements:
            lines.append(
                _record("05", m.day, body={(8, 11): "0001", (46, 48): qualifier, (49, 118): text})
            )
    closing = opening + sum(m.cents for m in movements)
    lines.append(_record("07", day, body={(91, 104): _amount(closing)}))
    return (newline.join(lines) + newline).encode("latin-1")


def csv_file(
    rows: list[dict[str, str]], *, delimiter: str = ";", encoding: str = "utf-8-sig"
) -> bytes:
    columns = [
        "reference",
        "date_comptable",
        "montant",
        "payeur",
        "iban_payeur",
        "libelle",
        "code_locataire",
    ]
    lines = [delimiter.join(columns)]
    for row in rows:
        lines.append(delimiter.join(row.get(c, "") for c in columns))
    return ("\r\n".join(lines) + "\r\n").encode(encoding)
