"""No silent truncation: a limit is shown with a counter, and a longer value is refused at
the field with the whole of it given back, never cut."""

from __future__ import annotations

import html as markup
import re
from datetime import date, timedelta

import pytest
from coordinator_support import make_coordinator, post_form, sign_in

from navigator.extensions import db
from navigator.models import Appointment

LONG_PLACE = "Main campus, Radiology building, 3rd floor east wing, suite 300"  # 63


@pytest.fixture
def patient(app, client, new_patient):
    make_coordinator()
    sign_in(client)
    return new_patient()


def test_limited_fields_show_a_counter_and_no_maxlength_that_would_cut_a_paste(
    app, client, patient
):
    html = client.get(f"/patients/{patient.id}/appointments/new").get_data(as_text=True)
    [location] = re.findall(r"<input[^>]*name=\"location\"[^>]*>", html)
    assert "maxlength" not in location
    assert 'data-max="60"' in location and 'data-counter="location-count"' in location
    assert '<p class="hint counter" id="location-count">Up to 60 characters.</p>' in html
    assert "maxlength" not in html


def test_a_location_over_the_limit_is_refused_at_the_field_and_given_back_whole(
    app, client, patient
):
    form = {
        "kind": "ct",
        "day": (date.today() + timedelta(days=8)).isoformat(),
        "at": "10:00",
        "timezone": "America/New_York",
        "location": LONG_PLACE,
        "prep_notes": "",
        "step": "preview",
    }
    response = post_form(client, f"/patients/{patient.id}/appointments/new", form)
    assert response.status_code == 422
    html = markup.unescape(response.get_data(as_text=True))
    assert 'id="location-error"' in html and "60 characters or fewer" in html
    assert f'value="{LONG_PLACE}"' in html
    assert db.session.scalar(db.select(Appointment)) is None
