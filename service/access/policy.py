"""What each role may do: the one table of function rights (scope is in scope.py)."""

from __future__ import annotations

ALL_ROLES = frozenset({"admin", "manager", "district_officer", "commissioner", "viewer"})
WRITERS = frozenset({"admin", "manager", "district_officer"})

PERMISSIONS: dict[str, frozenset[str]] = {
    "enterprise.read": ALL_ROLES,
    "enterprise.create": WRITERS,
    "enterprise.update": WRITERS | {"commissioner"},  # commissioners: contacts, figures, notes
    "enterprise.status": WRITERS,
    "figures.write": WRITERS | {"commissioner"},
    "designation.write": frozenset({"admin", "manager"}),
    "ladder.facts": WRITERS,  # evaluator facts: judgements, IP, awards, development score
    "listing.write": WRITERS,  # the listing path, as districts track it
    "key.select": frozenset({"admin", "manager"}),  # 重点企业遴选: confirm or reject
    "reference.read": ALL_ROLES,
    "reference.write": frozenset({"admin"}),
    "account.self": ALL_ROLES,
    "users.manage": frozenset({"admin"}),
    "audit.read": frozenset({"admin", "manager"}),
    "export.read": ALL_ROLES,  # filtered by scope like every read
    "commissioner.read": frozenset({"admin", "manager"}),
    "commissioner.manage": frozenset({"admin", "manager"}),
    "assignment.read": ALL_ROLES,  # an enterprise's slots, within scope
    "assignment.write": frozenset({"admin", "manager"}),
    "service.read": ALL_ROLES,  # service records and needs, within scope
    "service.write": frozenset({"admin", "manager", "commissioner"}),
    "commissioner.report": ALL_ROLES,  # coverage, load, follow-up: filtered by scope
    "import.read": WRITERS,  # roster batches, within scope
    "import.write": WRITERS,  # upload, preview, commit (officers: own district, maybe approval)
    "import.approve": frozenset({"admin", "manager"}),  # approve, reject, revert
    "public": frozenset({"anonymous", *ALL_ROLES}),
}

# Fields a commissioner may change on an assigned enterprise's file: the issue grants them
# "contacts, figures and notes". The address is how they reach the enterprise, so it counts as a
# contact; what the enterprise makes (main_products) describes the file and stays with the district.
COMMISSIONER_FIELDS = frozenset({"contact_person", "contact_phone", "notes", "address", "figures"})


def allowed(role: str, permission: str) -> bool:
    if role == "system":
        return True
    return role in PERMISSIONS[permission]
