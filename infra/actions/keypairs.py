"""The only code that changes key pairs: import a public key, generate a key pair, delete one.

Key pairs belong to one user in one project. Members and above create their own (viewers cannot; a suspended
organisation cannot create, but may delete); a member deletes their own, owners and admins anyone's in the project.
Another member's key pair is invisible to a member (NotFound), as another tenant's is to everyone.

The console keeps the public key only. `generate_keypair` returns the private key to its caller, which offers it once;
it is never written anywhere: not in the row, not in the audit row (which names the key by its fingerprint), not in
a task's arguments.

In a cloud a key pair is `Keypair.cloud_name` (`hn-<uuid>`), created by the provisioning of the first server that
uses it in a region (`infra.provisioning.ensure_cloud_keypair`). Deleting one is soft (`deleted_at`); after commit a
task removes it from every region it reached, and the reconciler's sweep removes what a region that was down kept.
Servers launched with it keep running with the key, as in nova.
"""

from __future__ import annotations

import re

from django.db import IntegrityError, transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from infra import keys
from infra.models import Keypair
from infra.providers.base import Status
from tenants.audit import Actor, record
from tenants.audit_labels import FIELD_LABELS, register_actions
from tenants.models import Membership, Project, Role, User
from tenants.policy import ActionError, Conflict, NotFound, Operation, authorize, membership_of

NAME_RE = re.compile(r"^[A-Za-z0-9._ -]{1,64}$")
NAME_MAX = 64
MAX_PER_USER = 100  # live key pairs per user per project
AUDIT_FIELDS = ("name", "key_type", "bits", "fingerprint")


def register_audit_labels() -> None:
    """The activity pages' labels of these actions (called from InfraConfig.ready)."""
    register_actions(
        "keypair",
        gettext_lazy("Key pairs"),
        {
            "keypair.import": gettext_lazy("Key pair imported"),
            "keypair.generate": gettext_lazy("Key pair generated"),
            "keypair.delete": gettext_lazy("Key pair deleted"),
        },
    )
    FIELD_LABELS.update(
        {
            "key_type": gettext_lazy("key type"),
            "bits": gettext_lazy("bits"),
            "fingerprint": gettext_lazy("fingerprint"),
        }
    )


# --- reading (pages and API) ---------------------------------------------------------------------------------------


def sees_every_keypair(role: Role | str) -> bool:
    """Owners and admins see every member's key pairs in a project; the others only their own."""
    return Role(role).at_least(Role.ADMIN)


def visible_keypairs(project: Project, *, user: User, sees_all: bool) -> QuerySet[Keypair]:
    """The live key pairs of the project the user may see, each with `server_count` (its live instances)."""
    rows = Keypair.objects.live().filter(project=project)
    if not sees_all:
        rows = rows.filter(user=user)
    return rows.select_related("user").annotate(
        server_count=Count("servers", filter=~Q(servers__status=Status.DELETED), distinct=True)
    )


# --- rules ---------------------------------------------------------------------------------------------------------


def validate_name(name: str) -> str:
    name = " ".join(name.split())
    if not NAME_RE.match(name):
        raise ActionError(_("A key pair's name has 1 to 64 letters, digits, spaces, dots, hyphens or underscores."))
    return name


def name_from_comment(comment: str) -> str:
    """A name made from a key's comment ("alice@laptop" -> "alice-laptop"), or "" when nothing usable is left."""
    name = re.sub(r"[^A-Za-z0-9._ -]+", "-", comment).strip(" -.")
    return " ".join(name.split())[:NAME_MAX].strip()


def _parse(public_key: str) -> keys.PublicKey:
    try:
        return keys.parse_public_key(public_key)
    except keys.InvalidKey as error:
        raise ActionError(error.message) from None


def _lock_membership(actor: Actor, project: Project, operation: Operation) -> None:
    """Check the role and suspension, then hold the actor's membership row: one user's creates in an organisation
    take turns, so the cap and the duplicate checks cannot be raced."""
    membership = authorize(actor, project.organization, minimum=Role.MEMBER, operation=operation)
    Membership.objects.select_for_update().filter(pk=membership.pk).first()


def _check_new(actor: Actor, project: Project, name: str, fingerprint: str) -> None:
    own = Keypair.objects.live().filter(project=project, user=actor.user)
    if own.count() >= MAX_PER_USER:
        raise Conflict(
            _("You have %(max)s key pairs in this project, the most allowed. Delete one you no longer use first.")
            % {"max": MAX_PER_USER}
        )
    if own.filter(name=name).exists():
        raise Conflict(_("You already have a key pair named “%(name)s” in this project.") % {"name": name})
    same = own.filter(fingerprint=fingerprint).first()
    if same is not None:
        raise Conflict(
            _("This public key is already one of your key pairs in this project, named “%(name)s”.")
            % {"name": same.name}
        )


def _create(actor: Actor, project: Project, name: str, key: keys.PublicKey, *, generated: bool) -> Keypair:
    try:
        with transaction.atomic():
            keypair = Keypair.objects.create(
                project=project,
                user=actor.user,
                name=name,
                public_key=key.openssh,
                key_type=key.key_type,
                bits=key.bits,
                fingerprint=key.fingerprint,
                comment=key.comment,
                generated=generated,
            )
    except IntegrityError:
        raise Conflict(_("You already have a key pair named “%(name)s” in this project.") % {"name": name}) from None
    after = {field: getattr(keypair, field) for field in AUDIT_FIELDS}
    record(actor, "keypair.generate" if generated else "keypair.import", project=project, target=keypair, after=after)
    return keypair


# --- actions -------------------------------------------------------------------------------------------------------


@transaction.atomic
def import_keypair(*, actor: Actor, project: Project, name: str, public_key: str) -> Keypair:
    """Keep a public key the user pasted. A blank name is taken from the key's comment."""
    _lock_membership(actor, project, Operation.CREATE)
    key = _parse(public_key)
    if not name.strip():
        name = name_from_comment(key.comment)
        if not name:
            raise ActionError(_("Give the key pair a name (the key has no comment to take one from)."))
    name = validate_name(name)
    _check_new(actor, project, name, key.fingerprint)
    return _create(actor, project, name, key, generated=False)


@transaction.atomic
def generate_keypair(*, actor: Actor, project: Project, name: str, key_type: str = keys.ED25519) -> tuple[Keypair, str]:
    """Make a new key pair: (the row, the private key in OpenSSH's format). Only the public key is kept; the caller
    offers the private key once and must not store it."""
    _lock_membership(actor, project, Operation.CREATE)
    name = validate_name(name)
    if key_type not in keys.GENERATE_TYPES:
        raise ActionError(_("Choose Ed25519 or RSA (4096 bits)."))
    public, private_key = keys.generate(key_type, comment=name.replace(" ", "-"))
    _check_new(actor, project, name, public.fingerprint)
    return _create(actor, project, name, public, generated=True), private_key


@transaction.atomic
def delete_keypair(*, actor: Actor, keypair: Keypair) -> Keypair:
    """Delete a key pair (its own user; owners and admins: anyone's in the project). Instances that use it keep it;
    after commit a task removes it from every region's cloud it reached."""
    row = (
        Keypair.objects.select_for_update(of=("self",))
        .select_related("project__organization")
        .filter(pk=keypair.pk, project_id=keypair.project_id, deleted_at__isnull=True)
        .first()
    )
    if row is None:
        raise NotFound()
    project = row.project
    membership = membership_of(actor, project.organization)
    own = row.user_id == actor.user.pk
    if not own and not sees_every_keypair(membership.role):
        raise NotFound()  # another member's key pair is invisible to a member
    authorize(actor, project.organization, minimum=Role.MEMBER if own else Role.ADMIN, operation=Operation.DELETE)
    row.deleted_at = timezone.now()
    row.save(update_fields=["deleted_at"])
    record(actor, "keypair.delete", project=project, target=row, before={f: getattr(row, f) for f in AUDIT_FIELDS})
    if row.cloud_regions:
        from infra import tasks

        pk = str(row.pk)
        transaction.on_commit(lambda: tasks.delete_cloud_keypair.delay(pk), robust=True)
    return row
