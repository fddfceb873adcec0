"""What a summary, an export or the dashboard covers: a period, a campaign, a province, a theme."""

import re
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

from ..errors import UsageError

_PERIOD = re.compile(r"^(\d{4})(?:-(H1|H2|Q[1-4]))?$", re.IGNORECASE)
# Inspections a summary counts: everything the field has handed in (a draft is still work in
# progress). The dashboard counts every status, drafts included, and shows which is which.
REPORTED_STATUSES = ("submitted", "resubmitted", "approved", "returned")


@dataclass(frozen=True)
class Period:
    """A reporting period: a year (``2024``), a half (``2024-H1``) or a quarter (``2024-Q3``)."""

    label: str
    year: int
    part: str | None  # None (whole year), "H1", "H2", "Q1".."Q4"
    start: date
    end: date

    @property
    def is_half(self):
        return self.part in ("H1", "H2")

    def title(self):
        """The period in a report's subject: "6 tháng đầu năm 2024", "năm 2024"."""
        if self.part == "H1":
            return f"6 tháng đầu năm {self.year}"
        if self.part == "H2":
            return f"6 tháng cuối năm {self.year}"
        if self.part:
            return f"quý {self.part[1]} năm {self.year}"
        return f"năm {self.year}"


def parse_period(text):
    """``"2024"``, ``"2024-H1"``, ``"2025-H2"``, ``"2024-Q3"`` → ``Period``; else ``UsageError``."""
    match = _PERIOD.match(str(text or "").strip())
    if not match:
        raise UsageError(f"{text!r} is not a period: write a year (2024), a half year "
                         f"(2024-H1, 2024-H2) or a quarter (2024-Q3).")
    year, part = int(match.group(1)), (match.group(2) or "").upper() or None
    if not 2000 <= year <= 2100:
        raise UsageError(f"{year} is not a plausible reporting year.")
    if part is None:
        start, end = date(year, 1, 1), date(year, 12, 31)
    elif part == "H1":
        start, end = date(year, 1, 1), date(year, 6, 30)
    elif part == "H2":
        start, end = date(year, 7, 1), date(year, 12, 31)
    else:
        quarter = int(part[1])
        start = date(year, 3 * quarter - 2, 1)
        end = date(year + (quarter == 4), (3 * quarter) % 12 + 1, 1) - timedelta(days=1)
    label = f"{year}-{part}" if part else str(year)
    return Period(label, year, part, start, end)


@dataclass(frozen=True)
class Filters:
    """Which inspections count. ``province`` is a CURRENT-era province code (the roll-up key:
    "25" Phú Thọ covers the 2024 inspections of legacy Hòa Bình 17)."""

    period: Period | None = None
    campaign: str | None = None
    province: str | None = None
    theme: str | None = None
    statuses: tuple | None = field(default=REPORTED_STATUSES)

    def with_(self, **changes):
        return replace(self, **changes)

    def describe(self):
        bits = []
        if self.period:
            bits.append(f"kỳ {self.period.label}")
        if self.campaign:
            bits.append(f"đợt {self.campaign}")
        if self.province:
            bits.append(f"tỉnh mã {self.province}")
        if self.theme:
            bits.append(f"chủ đề {self.theme}")
        return ", ".join(bits) or "toàn bộ dữ liệu"
