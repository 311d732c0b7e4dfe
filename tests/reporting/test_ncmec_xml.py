"""The report XML: XSD order, escaping, required fields and API rules, Unicode, responses."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.fakes.cybertipline import (
    Invalid,
    check_order,
    validate_file_details,
    validate_report,
)
from tests.reporting.conftest import T0, minimal_report

from childsafe.errors import ReportingError
from childsafe.reporting.ncmec.model import (
    ChatImIncident,
    Email,
    FileAnnotation,
    FileDetails,
    FileRelevance,
    IndustryClassification,
    IpCaptureEvent,
    IpEventName,
    LawEnforcement,
    NameValuePair,
    OriginalFileHash,
    Person,
    ReportAnnotation,
    Reporter,
    UserDetails,
    WebPageIncident,
)
from childsafe.reporting.ncmec.xml import (
    parse_response,
    render_file_details,
    render_report,
    report_element,
)

REPORT_ORDER = [
    "incidentSummary",
    "internetDetails",
    "internetDetails",
    "lawEnforcement",
    "reporter",
    "personOrUserReported",
    "intendedRecipient",
    "victim",
    "victim",
    "additionalInfo",
]


def full_report():  # type: ignore[no-untyped-def]
    base = minimal_report(
        platform="Example Platform",
        escalate_to_high_priority="A reviewer believes a child is at risk now.",
        annotations=frozenset(
            {ReportAnnotation.MINOR_TO_MINOR_INTERACTION, ReportAnnotation.SEXTORTION}
        ),
        incident_date_time_description="time of the upload",
    )
    ip = IpCaptureEvent("192.0.2.7", IpEventName.UPLOAD, T0, possible_proxy=False, port=443)
    return replace(
        base,
        internet_details=(
            WebPageIncident(urls=("https://example.org/u/1",), third_party_hosted_content=False),
            ChatImIncident(chat_client="Example Chat"),
        ),
        law_enforcement=LawEnforcement("Example Police", case_number="LE-1"),
        person_or_user_reported=UserDetails(
            esp_identifier="user-42",
            esp_service="Example Platform",
            screen_name="user42",
            ip_capture_events=(ip,),
            account_permanently_disabled=True,
        ),
        intended_recipients=(UserDetails(esp_identifier="user-7", school_name="Example School"),),
        victims=(UserDetails(esp_identifier="user-8"), UserDetails(esp_identifier="user-9")),
        additional_info="Case 1.",
    )


def test_report_children_follow_the_xsd_order() -> None:
    root = ET.fromstring(render_report(full_report()))
    assert [c.tag for c in root] == REPORT_ORDER
    summary = [c.tag for c in root.find("incidentSummary")]  # type: ignore[union-attr]
    assert summary == [
        "incidentType",
        "platform",
        "escalateToHighPriority",
        "reportAnnotations",
        "incidentDateTime",
        "incidentDateTimeDescription",
    ]
    # annotations in XSD (enum) order, whatever order the set iterates in
    anns = [c.tag for c in root.find("incidentSummary/reportAnnotations")]  # type: ignore[union-attr]
    assert anns == ["sextortion", "minorToMinorInteraction"]
    user = [c.tag for c in root.find("personOrUserReported")]  # type: ignore[union-attr]
    assert user == [
        "espIdentifier",
        "espService",
        "screenName",
        "ipCaptureEvent",
        "accountPermanentlyDisabled",
    ]
    ip = [c.tag for c in root.find("personOrUserReported/ipCaptureEvent")]  # type: ignore[union-attr]
    assert ip == ["ipAddress", "eventName", "dateTime", "possibleProxy", "port"]
    check_order(root)  # the fake's independent order check agrees
    validate_report(root)


def test_minimal_report_has_only_what_is_required() -> None:
    root = ET.fromstring(render_report(minimal_report()))
    assert [c.tag for c in root] == ["incidentSummary", "reporter"]
    assert root.findtext("incidentSummary/incidentDateTime") == "2026-03-01T12:00:00Z"
    assert root.findtext("reporter/reportingPerson/email") == "trust@example.org"


def test_timestamps_are_written_in_utc() -> None:
    plus2 = datetime(2026, 3, 1, 14, 0, tzinfo=UTC).astimezone(
        __import__("datetime").timezone(timedelta(hours=2))
    )
    root = ET.fromstring(render_report(minimal_report(incident_date_time=plus2)))
    assert root.findtext("incidentSummary/incidentDateTime") == "2026-03-01T14:00:00Z"


def test_escaping_and_unicode_round_trip() -> None:
    tricky = "Ünïcødé <b>&amp; \"quotes\" 'single' 🙂 中文 ]]>"
    report = replace(minimal_report(), additional_info=tricky)
    raw = render_report(report)
    assert b"<b>" not in raw and b"]]>" not in raw.replace(b"]]&gt;", b"")
    root = ET.fromstring(raw)
    assert root.findtext("additionalInfo") == tricky
    assert raw.startswith(b"<?xml version='1.0' encoding='utf-8'?>")


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=200))
def test_any_text_either_round_trips_or_is_refused_by_name(text: str) -> None:
    report = replace(minimal_report(), additional_info=text)
    try:
        raw = render_report(report)
    except ReportingError as exc:
        assert "report.additionalInfo" in str(exc)
        return
    got = ET.fromstring(raw).findtext("additionalInfo")
    # XML parsers normalise \r and \r\n to \n; nothing else may change
    assert (got or "") == text.replace("\r\n", "\n").replace("\r", "\n")


@pytest.mark.parametrize("bad", ["\x00", "\x07", "\x1b", "\ufffe", "\ud800"])
def test_characters_xml_cannot_carry_are_refused_naming_the_field(bad: str) -> None:
    report = replace(full_report(), victims=(UserDetails(screen_name=f"a{bad}b"),))
    with pytest.raises(ReportingError, match=r"report\.victim\[0\]\.screenName"):
        render_report(report)


def test_required_fields_are_named() -> None:
    no_email = Reporter(reporting_person=Person("Rae", "Porter"))
    with pytest.raises(ReportingError, match=r"reporter\.reportingPerson\.email: required"):
        render_report(replace(minimal_report(), reporter=no_email))
    with pytest.raises(ReportingError, match="incidentDateTime: required"):
        render_report(minimal_report(incident_date_time=None))
    with pytest.raises(ReportingError, match="incidentType: required"):
        render_report(minimal_report(incident_type=None))
    with pytest.raises(ReportingError, match=r"lawEnforcement\.agencyName"):
        render_report(replace(minimal_report(), law_enforcement=LawEnforcement("")))


def test_incident_in_the_future_or_naive_is_refused() -> None:
    future = datetime.now(UTC) + timedelta(minutes=5)
    with pytest.raises(ReportingError, match=r"incidentDateTime.*in the future"):
        render_report(minimal_report(incident_date_time=future))
    with pytest.raises(ReportingError, match="without a time zone"):
        render_report(minimal_report(incident_date_time=datetime(2026, 1, 1)))


def test_length_limits() -> None:
    long = "x" * 3001
    with pytest.raises(ReportingError, match="escalateToHighPriority: at most 3000"):
        render_report(minimal_report(escalate_to_high_priority=long))
    reporter = replace(minimal_report().reporter, terms_of_service=long)
    with pytest.raises(ReportingError, match="termsOfService: at most 3000"):
        render_report(replace(minimal_report(), reporter=reporter))
    ok = minimal_report(escalate_to_high_priority="x" * 3000)
    assert (
        len(
            ET.fromstring(render_report(ok)).findtext("incidentSummary/escalateToHighPriority")
            or ""
        )
        == 3000
    )


def test_bad_email_and_port_and_school_name_placement() -> None:
    person = Person(emails=(Email("not-an-address"),))
    with pytest.raises(ReportingError, match="not an email address"):
        render_report(replace(minimal_report(), reporter=Reporter(person)))
    user = UserDetails(ip_capture_events=(IpCaptureEvent("192.0.2.1", port=70000),))
    with pytest.raises(ReportingError, match=r"ipCaptureEvent\[0\]\.port"):
        render_report(replace(minimal_report(), person_or_user_reported=user))
    with pytest.raises(ReportingError, match="schoolName"):
        render_report(
            replace(minimal_report(), person_or_user_reported=UserDetails(school_name="S"))
        )


def test_email_verified_attribute() -> None:
    person = Person(emails=(Email("a@example.org", verified=True),))
    root = report_element(replace(minimal_report(), reporter=Reporter(person)))
    assert root.find("reporter/reportingPerson/email").get("verified") == "true"  # type: ignore[union-attr]


# -- fileDetails -----------------------------------------------------------------------------

FILE_ORDER = [
    "reportId",
    "fileId",
    "fileName",
    "originalFileName",
    "uploadedToEspTimestamp",
    "locationOfFile",
    "fileViewedByEsp",
    "exifViewedByEsp",
    "publiclyAvailable",
    "fileRelevance",
    "fileAnnotations",
    "industryClassification",
    "originalFileHash",
    "originalFileHash",
    "ipCaptureEvent",
    "deviceId",
    "details",
    "additionalInfo",
]


def details(**kw: object) -> FileDetails:
    base = FileDetails(
        report_id="880001",
        file_id="f1",
        file_name="item-1.png",
        original_file_name="holiday photo – été.png",
        uploaded_to_esp_timestamp=T0,
        location_of_file="https://example.org/f/1?a=1&b=2",
        file_viewed_by_esp=True,
        exif_viewed_by_esp=True,
        publicly_available=False,
        file_relevance=FileRelevance.REPORTED,
        annotations=frozenset({FileAnnotation.GENERATIVE_AI, FileAnnotation.INFANT}),
        industry_classification=IndustryClassification.A2,
        original_file_hashes=(
            OriginalFileHash("d41d8cd98f00b204e9800998ecf8427e", "MD5"),
            OriginalFileHash("e3b0c44298fc1c149afbf4c8996fb924" * 2, "SHA256"),
        ),
        ip_capture_events=(IpCaptureEvent("2001:db8::1", IpEventName.UPLOAD, T0),),
        device_ids=("device-1",),
        details=(NameValuePair("pdq", "ab" * 32),),
        additional_info="note",
    )
    return replace(base, **kw)  # type: ignore[arg-type]


def test_file_details_order_and_values() -> None:
    root = ET.fromstring(render_file_details(details()))
    assert [c.tag for c in root] == FILE_ORDER
    assert root.findtext("fileViewedByEsp") == "true"
    assert [c.tag for c in root.find("fileAnnotations")] == ["infant", "generativeAi"]  # type: ignore[union-attr]
    assert root.find("originalFileHash").get("hashType") == "MD5"  # type: ignore[union-attr]
    assert root.findtext("locationOfFile") == "https://example.org/f/1?a=1&b=2"
    assert root.findtext("originalFileName") == "holiday photo – été.png"
    assert root.find("details").get("type") == "HASH"  # type: ignore[union-attr]
    check_order(root)
    validate_file_details(root)


def test_viewing_flags_false_are_written_not_omitted() -> None:
    root = ET.fromstring(
        render_file_details(details(file_viewed_by_esp=False, exif_viewed_by_esp=False))
    )
    assert root.findtext("fileViewedByEsp") == "false"
    assert root.findtext("exifViewedByEsp") == "false"


def test_exif_viewed_needs_file_viewed() -> None:
    with pytest.raises(ReportingError, match="exifViewedByEsp: true requires fileViewedByEsp"):
        render_file_details(details(file_viewed_by_esp=False))
    with pytest.raises(ReportingError, match="exifViewedByEsp"):
        render_file_details(details(file_viewed_by_esp=None))


def test_only_reported_files_carry_classification_or_meme() -> None:
    sup = FileRelevance.SUPPLEMENTAL_REPORTED
    with pytest.raises(ReportingError, match="industryClassification"):
        render_file_details(details(file_relevance=sup))
    with pytest.raises(ReportingError, match="fileAnnotations"):
        render_file_details(
            details(
                file_relevance=sup,
                industry_classification=None,
                annotations=frozenset({FileAnnotation.POTENTIAL_MEME}),
            )
        )
    ok = details(file_relevance=sup, industry_classification=None)
    assert b"Supplemental Reported" in render_file_details(ok)


def test_file_details_need_ids_and_hash_types() -> None:
    with pytest.raises(ReportingError, match=r"fileDetails\.reportId: required"):
        render_file_details(details(report_id=""))
    with pytest.raises(ReportingError, match=r"fileDetails\.fileId: required"):
        render_file_details(details(file_id=""))
    with pytest.raises(ReportingError, match=r"originalFileHash\[0\]"):
        render_file_details(details(original_file_hashes=(OriginalFileHash("ab", ""),)))
    with pytest.raises(ReportingError, match="originalFileName: at most 2056"):
        render_file_details(details(original_file_name="n" * 2057))
    with pytest.raises(ReportingError, match="EXIF or HASH"):
        render_file_details(details(details=(NameValuePair("a", "b", type="OTHER"),)))


def test_fake_rejects_out_of_order_documents() -> None:
    root = ET.fromstring(render_report(full_report()))
    reporter = root.find("reporter")
    assert reporter is not None
    root.remove(reporter)
    root.insert(0, reporter)
    with pytest.raises(Invalid, match="out of order"):
        check_order(root)


# -- responses -------------------------------------------------------------------------------


def test_parse_responses() -> None:
    res = parse_response(
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><reportResponse>'
        b"<responseCode>0</responseCode><responseDescription>Success</responseDescription>"
        b"<reportId>4564654</reportId><fileId>b07</fileId><hash>fafa</hash></reportResponse>"
    )
    assert (res.code, res.report_id, res.file_id, res.hash) == (0, "4564654", "b07", "fafa")
    done = parse_response(
        b"<reportDoneResponse><responseCode>0</responseCode><reportId>1</reportId>"
        b"<files><fileId>a</fileId><fileId>b</fileId></files></reportDoneResponse>"
    )
    assert done.file_ids == ("a", "b")


@pytest.mark.parametrize(
    "body, message",
    [
        (b"not xml", "not XML"),
        (b"<other/>", "unexpected CyberTipline response element"),
        (b"<reportResponse><responseCode>x</responseCode></reportResponse>", "numeric"),
        (b"<reportResponse/>", "numeric"),
        (
            b'<!DOCTYPE r [<!ENTITY a "aaaa">]><reportResponse><responseCode>&a;'
            b"</responseCode></reportResponse>",
            "DTD",
        ),
        (b"<reportResponse>" + b" " * (1 << 20) + b"</reportResponse>", "over"),
    ],
)
def test_bad_responses_are_clear_errors(body: bytes, message: str) -> None:
    with pytest.raises(ReportingError, match=message):
        parse_response(body)
