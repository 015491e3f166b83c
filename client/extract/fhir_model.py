"""The parts of FHIR R4 resources the import reads, as typed msgspec structs.

Only the elements the mapping uses are declared; msgspec skips everything
else while parsing, so a 900 MB export never becomes 900 MB of Python dicts.
One struct covers every resource type (FHIR reuses element names across
types with the same shape), so an unsupported type still parses and is
counted rather than failing the batch. `gc=False`: these objects hold no
cycles, and tracking millions of them costs the garbage collector seconds.
"""

from __future__ import annotations

from typing import Any

import msgspec


class Coding(msgspec.Struct, gc=False):
    system: str | None = None
    code: str | None = None


class CodeableConcept(msgspec.Struct, gc=False):
    coding: list[Coding] | None = None


class Reference(msgspec.Struct, gc=False):
    reference: str | None = None


class Period(msgspec.Struct, gc=False):
    start: str | None = None
    end: str | None = None


class Quantity(msgspec.Struct, gc=False):
    value: float | None = None
    comparator: str | None = None
    unit: str | None = None
    code: str | None = None


class DispenseRequest(msgspec.Struct, gc=False):
    """MedicationRequest.dispenseRequest: how long the prescribed quantity lasts."""

    expectedSupplyDuration: Quantity | None = None


class Extension(msgspec.Struct, gc=False):
    url: str | None = None
    valuePeriod: Period | None = None
    valueDecimal: float | None = None


class Member(msgspec.Struct, gc=False):
    """Group.member: one listed patient and the period of listing."""

    entity: Reference | None = None
    period: Period | None = None
    inactive: bool | None = None


class Component(msgspec.Struct, gc=False):
    """Observation.component: e.g. systolic and diastolic in one blood-pressure Observation."""

    code: CodeableConcept | None = None
    valueQuantity: Quantity | None = None
    valueString: str | None = None
    dataAbsentReason: CodeableConcept | None = None


class Resource(msgspec.Struct, gc=False):
    resourceType: str | None = None
    id: str | None = None
    status: str | None = None
    intent: str | None = None
    doNotPerform: bool | None = None
    active: bool | None = None
    subject: Reference | None = None
    code: CodeableConcept | None = None
    clinicalStatus: CodeableConcept | None = None
    verificationStatus: CodeableConcept | None = None
    # dates
    birthDate: str | None = None
    deceasedDateTime: str | None = None
    deceasedBoolean: bool | None = None
    onsetDateTime: str | None = None
    onsetPeriod: Period | None = None
    recordedDate: str | None = None
    abatementDateTime: str | None = None
    abatementPeriod: Period | None = None
    authoredOn: str | None = None
    effectiveDateTime: str | None = None
    effectiveInstant: str | None = None
    effectivePeriod: Period | None = None
    period: Period | None = None
    # values
    gender: str | None = None
    valueQuantity: Quantity | None = None
    valueString: str | None = None
    dataAbsentReason: CodeableConcept | None = None
    component: list[Component] | None = None
    medicationCodeableConcept: CodeableConcept | None = None
    medicationReference: Reference | None = None
    dispenseRequest: DispenseRequest | None = None
    serviceType: CodeableConcept | None = None
    type: Any = None  # Encounter.type is a list of CodeableConcepts, Group.type a code
    extension: list[Extension] | None = None
    member: list[Member] | None = None
    contained: list[Resource] | None = None
    # QuestionnaireResponse (survey answers); `source` and `item` read loosely, since
    # other resource types use the same names for other shapes
    questionnaire: str | None = None
    authored: str | None = None
    identifier: Any = None  # one Identifier here; a list on a Patient (not read)
    source: Any = None
    item: Any = None
    # OperationOutcome (Bulk Data error files)
    issue: list[Any] | None = None


class Request(msgspec.Struct, gc=False):
    method: str | None = None


class Entry(msgspec.Struct, gc=False):
    fullUrl: str | None = None
    resource: Resource | None = None
    request: Request | None = None


ENTRIES = msgspec.json.Decoder(list[Entry])
ENTRY = msgspec.json.Decoder(Entry)
RESOURCE = msgspec.json.Decoder(Resource)
RAW_LIST = msgspec.json.Decoder(list[msgspec.Raw])
