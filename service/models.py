"""Every table model, imported in one place so metadata is complete for Alembic and the app."""

from service.access.models import ApiToken, LoginAttempt, User, WebSession
from service.audit.models import AuditEvent
from service.commissioners.models import (
    Assignment,
    Commissioner,
    CommissionerCluster,
    CommissionerDistrict,
    CommissionerSpecialty,
    Need,
    ServiceRecord,
)
from service.enterprises.models import (
    AnnualFigures,
    Enterprise,
    EnterpriseSubsector,
    SavedFilter,
)
from service.imports.models import ImportBatch, ImportBatchChunk
from service.ladder.models import (
    CandidateCount,
    DataUpdate,
    Designation,
    DesignationEvent,
    EvaluatorFacts,
    KeySelection,
    LadderAnomaly,
    ListingStep,
    MajorChange,
)
from service.reference.models import (
    ChainPosition,
    Cluster,
    ClusterDistrict,
    District,
    ServiceKind,
    Specialty,
    SubsectorNode,
    Target,
    Tier,
)

__all__ = [
    "AnnualFigures",
    "ApiToken",
    "Assignment",
    "AuditEvent",
    "CandidateCount",
    "ChainPosition",
    "Cluster",
    "ClusterDistrict",
    "Commissioner",
    "CommissionerCluster",
    "CommissionerDistrict",
    "CommissionerSpecialty",
    "DataUpdate",
    "Designation",
    "DesignationEvent",
    "District",
    "Enterprise",
    "EnterpriseSubsector",
    "EvaluatorFacts",
    "ImportBatch",
    "ImportBatchChunk",
    "KeySelection",
    "LadderAnomaly",
    "ListingStep",
    "LoginAttempt",
    "MajorChange",
    "Need",
    "SavedFilter",
    "ServiceKind",
    "ServiceRecord",
    "Specialty",
    "SubsectorNode",
    "Target",
    "Tier",
    "User",
    "WebSession",
]
