"""A CyberTipline report as typed values, one class per XSD element that has children.

Field order in each class follows the XSD sequence (``docs/reporting.md`` lists it), and
:mod:`childsafe.reporting.ncmec.xml` writes the elements in exactly that order: NCMEC refuses
out-of-order children with code 4100. Everything but the incident type and date is voluntary
in the API; we leave a field out (``None``/empty) rather than guess it.

The two viewing flags of :class:`FileDetails` are ``bool | None`` and default to ``None``
(omitted), never to ``True``: whether a person at the ESP saw a file or its EXIF is a fact
that only a reveal record can establish (US v. Wilson), so
:mod:`childsafe.reporting.ncmec.from_case` sets them from reveals and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import ClassVar


class IncidentType(StrEnum):
    """``incidentSummary/incidentType``: the exact strings the XSD enumerates."""

    CHILD_PORNOGRAPHY = "Child Pornography (possession, manufacture, and distribution)"
    CHILD_SEX_TRAFFICKING = "Child Sex Trafficking"
    CHILD_SEX_TOURISM = "Child Sex Tourism"
    CHILD_SEXUAL_MOLESTATION = "Child Sexual Molestation"
    MISLEADING_DOMAIN_NAME = "Misleading Domain Name"
    MISLEADING_WORDS_OR_IMAGES = "Misleading Words or Digital Images on the Internet"
    ONLINE_ENTICEMENT = "Online Enticement of Children for Sexual Acts"
    UNSOLICITED_OBSCENE_MATERIAL = "Unsolicited Obscene Material Sent to a Child"


class ReportAnnotation(StrEnum):
    """``incidentSummary/reportAnnotations`` children (empty elements)."""

    SEXTORTION = "sextortion"
    CSAM_SOLICITATION = "csamSolicitation"
    MINOR_TO_MINOR_INTERACTION = "minorToMinorInteraction"


class FileAnnotation(StrEnum):
    """``fileDetails/fileAnnotations`` children, in XSD order (empty elements)."""

    ANIME_DRAWING_VIRTUAL_HENTAI = "animeDrawingVirtualHentai"
    POTENTIAL_MEME = "potentialMeme"
    VIRAL = "viral"
    POSSIBLE_SELF_PRODUCTION = "possibleSelfProduction"
    PHYSICAL_HARM = "physicalHarm"
    VIOLENCE_GORE = "violenceGore"
    BESTIALITY = "bestiality"
    LIVE_STREAMING = "liveStreaming"
    INFANT = "infant"
    GENERATIVE_AI = "generativeAi"  # required for AI-generated material (Safety by Design)


class FileRelevance(StrEnum):
    REPORTED = "Reported"
    SUPPLEMENTAL_REPORTED = "Supplemental Reported"


class IndustryClassification(StrEnum):
    """Tech Coalition classification; only a ``Reported`` file may carry one."""

    A1 = "A1"
    A2 = "A2"
    B1 = "B1"
    B2 = "B2"


class IpEventName(StrEnum):
    LOGIN = "Login"
    REGISTRATION = "Registration"
    PURCHASE = "Purchase"
    UPLOAD = "Upload"
    OTHER = "Other"
    UNKNOWN = "Unknown"


@dataclass(frozen=True, slots=True)
class IpCaptureEvent:
    ip_address: str
    event_name: IpEventName | None = None
    date_time: datetime | None = None
    possible_proxy: bool | None = None
    port: int | None = None


@dataclass(frozen=True, slots=True)
class Email:
    address: str
    verified: bool | None = None  # written as the ``verified`` attribute


@dataclass(frozen=True, slots=True)
class Person:
    first_name: str | None = None
    last_name: str | None = None
    emails: tuple[Email, ...] = ()
    phones: tuple[str, ...] = ()
    age: int | None = None


# -- internetDetails: exactly one variant per element ---------------------------------------


@dataclass(frozen=True, slots=True)
class WebPageIncident:
    TAG: ClassVar[str] = "webPageIncident"
    urls: tuple[str, ...] = ()
    third_party_hosted_content: bool | None = None
    additional_info: str | None = None


@dataclass(frozen=True, slots=True)
class EmailIncident:
    TAG: ClassVar[str] = "emailIncident"
    addresses: tuple[str, ...] = ()
    content: str | None = None
    additional_info: str | None = None


@dataclass(frozen=True, slots=True)
class NewsgroupIncident:
    TAG: ClassVar[str] = "newsgroupIncident"
    name: str | None = None
    addresses: tuple[str, ...] = ()
    additional_info: str | None = None


@dataclass(frozen=True, slots=True)
class ChatImIncident:
    TAG: ClassVar[str] = "chatImIncident"
    chat_client: str | None = None
    chat_room_name: str | None = None
    additional_info: str | None = None


@dataclass(frozen=True, slots=True)
class OnlineGamingIncident:
    TAG: ClassVar[str] = "onlineGamingIncident"
    game_name: str | None = None
    console: str | None = None
    additional_info: str | None = None


@dataclass(frozen=True, slots=True)
class CellPhoneIncident:
    TAG: ClassVar[str] = "cellPhoneIncident"
    phone_number: str | None = None
    additional_info: str | None = None


@dataclass(frozen=True, slots=True)
class NonInternetIncident:
    TAG: ClassVar[str] = "nonInternetIncident"
    location_name: str | None = None
    additional_info: str | None = None


@dataclass(frozen=True, slots=True)
class Peer2PeerIncident:
    TAG: ClassVar[str] = "peer2peerIncident"
    client: str | None = None
    file_names: tuple[str, ...] = ()
    ip_capture_events: tuple[IpCaptureEvent, ...] = ()
    additional_info: str | None = None


InternetDetail = (
    WebPageIncident
    | EmailIncident
    | NewsgroupIncident
    | ChatImIncident
    | OnlineGamingIncident
    | CellPhoneIncident
    | NonInternetIncident
    | Peer2PeerIncident
)


# -- the report -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IncidentSummary:
    incident_type: IncidentType
    incident_date_time: datetime  # required; timezone-aware; never in the future
    platform: str | None = None
    escalate_to_high_priority: str | None = None  # a reason, at most 3000 characters
    annotations: frozenset[ReportAnnotation] = frozenset()
    incident_date_time_description: str | None = None


@dataclass(frozen=True, slots=True)
class LawEnforcement:
    agency_name: str
    case_number: str | None = None
    officer_contact: Person | None = None


@dataclass(frozen=True, slots=True)
class Reporter:
    reporting_person: Person  # NCMEC contacts this person: an email is required
    contact_person: Person | None = None  # for law enforcement, when not the same
    company_template: str | None = None
    terms_of_service: str | None = None  # at most 3000 characters
    legal_url: str | None = None


@dataclass(frozen=True, slots=True)
class UserDetails:
    """``personOrUserReported``, ``intendedRecipient`` and ``victim`` share this content;
    the person element is named after the parent (``victimPerson``, ...)."""

    person: Person | None = None
    esp_identifier: str | None = None
    esp_service: str | None = None
    compromised_account: bool | None = None
    screen_name: str | None = None
    display_name: str | None = None
    profile_urls: tuple[str, ...] = ()
    profile_bio: str | None = None
    ip_capture_events: tuple[IpCaptureEvent, ...] = ()
    device_ids: tuple[str, ...] = ()
    third_party_user_reported: bool | None = None
    prior_ct_reports: tuple[str, ...] = ()
    group_identifier: str | None = None
    account_temporarily_disabled: bool | None = None
    account_permanently_disabled: bool | None = None
    estimated_location: str | None = None
    school_name: str | None = None  # intendedRecipient and victim only
    additional_info: str | None = None


@dataclass(frozen=True, slots=True)
class Report:
    incident_summary: IncidentSummary
    reporter: Reporter
    internet_details: tuple[InternetDetail, ...] = ()
    law_enforcement: LawEnforcement | None = None
    person_or_user_reported: UserDetails | None = None
    intended_recipients: tuple[UserDetails, ...] = ()
    victims: tuple[UserDetails, ...] = ()
    additional_info: str | None = None


# -- file details ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OriginalFileHash:
    value: str
    hash_type: str  # "MD5", "SHA1", "SHA256", "PDQ": the ``hashType`` attribute


@dataclass(frozen=True, slots=True)
class NameValuePair:
    name: str
    value: str
    type: str = "HASH"  # "EXIF" or "HASH"


@dataclass(frozen=True, slots=True)
class FileDetails:
    """``<fileDetails>`` for one uploaded file. ``report_id`` and ``file_id`` are NCMEC's,
    known only after submit and upload; the rest is known when the report is built."""

    report_id: str = ""
    file_id: str = ""
    file_name: str | None = None
    original_file_name: str | None = None  # at most 2056 characters
    uploaded_to_esp_timestamp: datetime | None = None
    location_of_file: str | None = None  # a URL, at most 2083 characters
    file_viewed_by_esp: bool | None = None  # only from a reveal record
    exif_viewed_by_esp: bool | None = None  # only from a reveal record; True needs the above
    publicly_available: bool | None = None
    file_relevance: FileRelevance | None = None
    annotations: frozenset[FileAnnotation] = frozenset()
    industry_classification: IndustryClassification | None = None
    original_file_hashes: tuple[OriginalFileHash, ...] = ()
    ip_capture_events: tuple[IpCaptureEvent, ...] = ()
    device_ids: tuple[str, ...] = ()
    details: tuple[NameValuePair, ...] = field(default_factory=tuple)
    additional_info: str | None = None
