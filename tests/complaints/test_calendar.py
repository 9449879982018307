from datetime import UTC, date, timedelta

import pytest

from complaints import calendar as cal
from core.errors import ConfigError


@pytest.fixture(autouse=True)
def _fresh_overrides():
    cal._overrides.cache_clear()
    yield
    cal._overrides.cache_clear()


def test_national_day_2026_holidays_and_makeup_saturday():
    assert not cal.is_working_day(date(2026, 10, 1))
    assert not cal.is_working_day(date(2026, 10, 7))
    assert cal.is_working_day(date(2026, 10, 8))
    assert cal.is_working_day(date(2026, 10, 10))  # Saturday, make-up working day
    assert cal.is_working_day(date(2026, 9, 20))  # Sunday, make-up working day


def test_acceptance_deadline_across_national_day_2026():
    # Registered Tue 29 Sep: 30 Sep (1), holiday 1–7 Oct, 8 (2), 9 (3), Sat 10 make-up (4), 12, 13, 14 (7).
    rule = cal.DEFAULT_RULES["acceptance"]
    assert cal.due_date(rule, date(2026, 9, 29)) == date(2026, 10, 14)
    # Plain weekdays would have given 8 Oct.
    assert cal.due_date(cal.Rule("x", cal.DAYS, 9), date(2026, 9, 29)) == date(2026, 10, 8)


def test_unit_reply_deadline_across_national_day_2026():
    rule = cal.DEFAULT_RULES["unit_reply"]
    # 30 Sep, 8, 9, 10(Sat), 12..16 (9), 19..23 (14), 26 (15)
    assert cal.due_date(rule, date(2026, 9, 29)) == date(2026, 10, 26)


def test_spring_festival_2027_from_override_file():
    assert not cal.is_working_day(date(2027, 2, 5))
    assert not cal.is_working_day(date(2027, 2, 12))
    assert cal.is_working_day(date(2027, 1, 31))  # Sunday make-up working day
    assert cal.is_working_day(date(2027, 2, 20))  # Saturday make-up working day
    # Registered Wed 3 Feb 2027: 4 Feb (1), break 5–13 Feb, 15..19 (6), Sat 20 make-up (7).
    assert cal.due_date(cal.DEFAULT_RULES["acceptance"], date(2027, 2, 3)) == date(2027, 2, 20)


def test_override_file_from_environment_wins(tmp_path, monkeypatch):
    f = tmp_path / "h.toml"
    f.write_text('[2027]\nholidays = ["2027-02-22"]\nworkdays = ["2027-02-13"]\n', encoding="utf-8")
    monkeypatch.setenv("QINGLANG_COMPLAINTS_HOLIDAYS", str(f))
    assert cal.is_working_day(date(2027, 2, 13))
    assert not cal.is_working_day(date(2027, 2, 22))


def test_bad_override_file_is_a_config_error(tmp_path, monkeypatch):
    f = tmp_path / "h.toml"
    f.write_text('[2027]\nholidays = ["27 Feb"]\n', encoding="utf-8")
    monkeypatch.setenv("QINGLANG_COMPLAINTS_HOLIDAYS", str(f))
    with pytest.raises(ConfigError) as exc:
        cal.is_working_day(date(2027, 3, 1))
    assert exc.value.hint


def test_unknown_year_falls_back_to_weekdays():
    day = date(2031, 3, 3)  # a Monday
    assert cal.is_working_day(day) and not cal.is_working_day(day + timedelta(days=5))


def test_pause_shifts_working_day_deadlines_by_working_days():
    # paused Mon 28 Sep, resumed Thu 8 Oct: working days in between are 29, 30 Sep and 8 Oct → 3
    assert cal.working_days_between(date(2026, 9, 28), date(2026, 10, 8)) == 3
    assert cal.shift(cal.WORKING_DAYS, date(2026, 10, 9), date(2026, 9, 28), date(2026, 10, 8)) == date(2026, 10, 13)
    assert cal.shift(cal.DAYS, date(2026, 11, 1), date(2026, 9, 28), date(2026, 10, 8)) == date(2026, 11, 11)


def test_rules_configurable_per_category():
    rules = cal.rules_for("minors", {"deadlines": {"*": {"unit_reply": 10}, "minors": {"acceptance": 3}}})
    assert rules["acceptance"].amount == 3 and rules["unit_reply"].amount == 10
    assert cal.rules_for("vulgar", {"deadlines": {"minors": {"acceptance": 3}}})["acceptance"].amount == 7
    with pytest.raises(ConfigError):
        cal.rules_for("x", {"deadlines": {"x": {"nonsense": 3}}})
    with pytest.raises(ConfigError):
        cal.rules_for("x", {"deadlines": {"x": {"acceptance": -1}}})


def test_local_date_uses_china_time():
    from datetime import datetime

    assert cal.local_date(datetime(2026, 9, 30, 17, 0, tzinfo=UTC)) == date(2026, 10, 1)
