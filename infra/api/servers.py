"""API endpoints: a project's servers (instances).

`/api/v1/projects/<project_id>/servers/` lists the project's servers, newest first (or as `ordering` asks: oldest
first, by name), with cursor (keyset) pagination and filters (`status`, `region`, `flavor`, `image`, `q` for a name or
an IP, `include_deleted`): an index serves each order and filter, so a page costs the same at any depth. It launches
1 to 20 of one kind (`POST`, 202: the answer is always `{"servers": [...]}`, whatever the count). `/servers/<id>/`
reads one (a deleted one too), renames it (`PATCH {"name"}`) or deletes it (`DELETE`, 202, also in ERROR);
`/servers/<id>/actions/` runs a lifecycle action (`{"action": "stop"}`, 202).

Everything goes through `infra.actions.servers`, as the console's pages do: the rules (roles, a token's ceiling, the
suspension of an organisation, quotas, statuses, locks) are the actions', and their refusals keep their code and
status (`quota_exceeded` 409 with the exact shortfall, `organization_suspended` 409, `conflict` 409…). Launches and
actions honour `Idempotency-Key`: a retried stop with the same key replays the first answer instead of failing as a
conflict. Another tenant's project or server is a 404 for every method.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.db.models import QuerySet
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from infra import servers_ui
from infra.actions import servers as actions
from infra.catalog import offered_flavors, offered_images, open_regions
from infra.models import CloudProject, Flavor, Image, Keypair, Region, Server
from infra.providers.base import TRANSITIONAL, Status
from tenants.api.idempotency import idempotent
from tenants.api.pagination import CursorPagination
from tenants.api.scope import api_actor, project_scope
from tenants.models import Project
from tenants.policy import ActionError, NotFound

# What a launch may attach at this stage: the project's default private network in the region, and the cloud
# project's default security group (networks and security groups of their own come with the networks issue).
DEFAULT_SECURITY_GROUP = "default"

# --- serializers: what a server looks like -------------------------------------------------------------------------


class ServerRegionSerializer(serializers.Serializer):
    slug = serializers.CharField(read_only=True, help_text="The region's code.")
    name = serializers.CharField(read_only=True)


class ServerFlavorSerializer(serializers.Serializer):
    id = serializers.UUIDField(read_only=True)
    name = serializers.CharField(read_only=True)
    vcpus = serializers.IntegerField(read_only=True)
    ram_mb = serializers.IntegerField(read_only=True)
    disk_gb = serializers.IntegerField(read_only=True, help_text="0: the image's size (a volume-backed type).")


class ServerImageSerializer(serializers.Serializer):
    id = serializers.UUIDField(read_only=True)
    name = serializers.CharField(source="display_name", read_only=True)


class ServerKeypairSerializer(serializers.Serializer):
    id = serializers.UUIDField(read_only=True)
    name = serializers.CharField(read_only=True)


class ServerAddressSerializer(serializers.Serializer):
    ip = serializers.CharField(read_only=True)
    version = serializers.IntegerField(read_only=True, help_text="4 or 6.")
    kind = serializers.CharField(read_only=True, help_text="fixed (private) or floating (public).")
    network = serializers.CharField(read_only=True, help_text="The network's name in the cloud.")
    mac = serializers.CharField(read_only=True)


class ServerLinksSerializer(serializers.Serializer):
    console = serializers.URLField(read_only=True, help_text="The server's page in the console.")


@extend_schema_field({"type": "string", "enum": Status.values})
class StatusField(serializers.CharField):
    """A server's status code (one of `Status`); documented as an inline enum."""


class ServerSerializer(serializers.Serializer):
    id = serializers.UUIDField(read_only=True)
    name = serializers.CharField(read_only=True)
    status = StatusField(
        read_only=True, help_text="ACTIVE is running; PENDING…DELETING are transitional (see is_transitional)."
    )
    status_label = serializers.CharField(
        source="get_status_display", read_only=True, help_text="The status in the caller's language."
    )
    is_transitional = serializers.BooleanField(read_only=True, help_text="Waiting for the cloud: it will change.")
    pending_op = serializers.SerializerMethodField(
        help_text="What the current transitional status is for (create, start, stop, resize…), else null."
    )
    error_message = serializers.CharField(read_only=True, help_text="Why it is in ERROR (or why it vanished).")
    region = ServerRegionSerializer(read_only=True)
    flavor = ServerFlavorSerializer(read_only=True)
    image = ServerImageSerializer(read_only=True, allow_null=True)
    keypair = ServerKeypairSerializer(read_only=True, allow_null=True)
    addresses = ServerAddressSerializer(many=True, read_only=True)
    locked = serializers.BooleanField(read_only=True, help_text="A locked server refuses every action but unlock.")
    project = serializers.UUIDField(source="project_id", read_only=True)
    created_by = serializers.EmailField(source="created_by.email", read_only=True, allow_null=True, default=None)
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)
    launched_at = serializers.DateTimeField(read_only=True, allow_null=True)
    deleted_at = serializers.DateTimeField(read_only=True, allow_null=True)
    links = serializers.SerializerMethodField()

    def get_pending_op(self, server: Server) -> str | None:
        return (server.pending or {}).get("op") if server.status in TRANSITIONAL else None

    @extend_schema_field(ServerLinksSerializer)
    def get_links(self, server: Server) -> dict[str, str]:
        project: Project = self.context["project"]
        page = reverse(
            "server",
            kwargs={"org_slug": project.organization.slug, "project_slug": project.slug, "server_id": server.pk},
        )
        request = self.context.get("request")
        return {"console": request.build_absolute_uri(page) if request is not None else page}


class ServerListSerializer(serializers.Serializer):
    servers = ServerSerializer(many=True, read_only=True)


# --- serializers: what a request asks ------------------------------------------------------------------------------


def _field_error(error: ActionError) -> serializers.ValidationError:
    return serializers.ValidationError(str(error.message))


class ServerCreateSerializer(serializers.Serializer):
    name = serializers.CharField(
        max_length=200,
        help_text=(
            "A host name: letters, digits, dots, hyphens, underscores (1 to 63). For more than one server, `{n}` is "
            "replaced by 1…count, or `-1`…`-count` is appended."
        ),
    )
    region = serializers.SlugField(help_text="The region's code (see /api/v1/regions/).")
    flavor = serializers.UUIDField(help_text="An instance type offered in the region.")
    image = serializers.UUIDField(help_text="An image offered in the region.")
    count = serializers.IntegerField(
        min_value=1, max_value=actions.MAX_COUNT, default=1, help_text="How many to launch at once (1 to 20)."
    )
    keypair = serializers.UUIDField(
        required=False, allow_null=True, default=None, help_text="One of your own key pairs in the project."
    )
    user_data = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        trim_whitespace=False,
        help_text="cloud-init user data (#cloud-config YAML, a #! script…), at most 64 KiB.",
    )
    networks = serializers.ListField(
        child=serializers.CharField(max_length=64),
        required=False,
        default=list,
        help_text="Cloud network ids; empty (or the project's private network) for now: its default network.",
    )
    security_groups = serializers.ListField(
        child=serializers.CharField(max_length=255),
        required=False,
        default=list,
        help_text='Security group names; empty or ["default"] for now.',
    )

    def validate_user_data(self, value: str) -> str:
        try:
            return actions.validate_user_data(value)
        except ActionError as error:
            raise _field_error(error) from None

    def validate_security_groups(self, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - {DEFAULT_SECURITY_GROUP})
        if unknown:
            raise serializers.ValidationError(
                _("The project has no security group named %(names)s; use “default”.") % {"names": ", ".join(unknown)}
            )
        return list(dict.fromkeys(value))

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        try:
            attrs["names"] = actions.server_names(attrs["name"], attrs["count"])
            if attrs["count"] == 1 and actions.COUNT_PLACEHOLDER in attrs["name"]:
                actions.validate_name(attrs["name"])  # one server's name is taken as it is
        except ActionError as error:
            raise serializers.ValidationError({"name": [str(error.message)]}) from None
        return attrs


class ServerRenameSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=63, help_text="The new name (a host name, 1 to 63 characters).")

    def validate_name(self, value: str) -> str:
        try:
            return actions.validate_name(value)
        except ActionError as error:
            raise _field_error(error) from None


ACTIONS = (
    ("start", gettext_lazy("Start a stopped server.")),
    ("stop", gettext_lazy("Stop a running server.")),
    ("reboot", gettext_lazy("Reboot a running server (`hard`: at once, like a power cycle).")),
    ("resize", gettext_lazy("Change the instance type (`flavor`); then confirm_resize or revert_resize.")),
    ("confirm_resize", gettext_lazy("Keep the new instance type.")),
    ("revert_resize", gettext_lazy("Go back to the former instance type.")),
    ("rebuild", gettext_lazy("Reinstall from an image (`image`): the disk is erased.")),
    ("lock", gettext_lazy("Refuse every action but unlock.")),
    ("unlock", gettext_lazy("Allow actions again.")),
)


class ServerActionSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=[name for name, _help in ACTIONS], help_text="What to do.")
    hard = serializers.BooleanField(default=False, help_text="reboot only: a hard reboot.")
    flavor = serializers.UUIDField(required=False, help_text="resize only: the new instance type.")
    image = serializers.UUIDField(required=False, help_text="rebuild only: the image to reinstall from.")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["action"] == "resize" and not attrs.get("flavor"):
            raise serializers.ValidationError({"flavor": [_("Choose the new instance type.")]})
        if attrs["action"] == "rebuild" and not attrs.get("image"):
            raise serializers.ValidationError({"image": [_("Choose the image to rebuild from.")]})
        return attrs


# The list's orders (`?ordering=`): each ends with the id, so that cursors never skip or repeat a server, and an index
# serves each in both directions (infra_server_live_created, infra_server_live_name).
ORDERINGS: dict[str, tuple[str, ...]] = {
    "-created_at": ("-created_at", "-id"),
    "created_at": ("created_at", "id"),
    "name": ("name", "id"),
    "-name": ("-name", "-id"),
}


class ServerFilterSerializer(serializers.Serializer):
    """The list's query parameters, checked (an unknown status is a 400, not an empty list)."""

    status = serializers.ListField(child=serializers.ChoiceField(choices=Status.values), required=False)
    region = serializers.SlugField(required=False)
    flavor = serializers.CharField(required=False, max_length=255)
    image = serializers.UUIDField(required=False)
    q = serializers.CharField(required=False, max_length=255)
    include_deleted = serializers.BooleanField(required=False, default=False)
    ordering = serializers.ChoiceField(choices=list(ORDERINGS), required=False, default="-created_at")


# --- reading -------------------------------------------------------------------------------------------------------


def _servers(project: Project) -> QuerySet[Server]:
    return Server.objects.filter(project=project).select_related(*servers_ui.RELATED)


def _server(request: Request, project_id: uuid.UUID, server_id: uuid.UUID) -> tuple[Project, Server]:
    """The project and one of its servers (deleted ones too), else 404 (another tenant's look the same)."""
    _scope, project = project_scope(request, project_id)
    server = _servers(project).filter(pk=server_id).first()
    if server is None:
        raise NotFound()
    return project, server


def _values(request: Request, name: str) -> list[str]:
    """A repeatable query parameter that also takes a comma-separated list: `?status=ACTIVE,STOPPED`."""
    return [part.strip() for value in request.query_params.getlist(name) for part in value.split(",") if part.strip()]


def filtered(request: Request, project: Project) -> tuple[QuerySet[Server], tuple[str, ...]]:
    """The project's servers with the list's filters applied, and the order asked (400 for a parameter that is not
    valid)."""
    params = {
        key: request.query_params.get(key) for key in ("region", "flavor", "image", "q", "include_deleted", "ordering")
    }
    params = {key: value for key, value in params.items() if value not in (None, "")}
    statuses = _values(request, "status")
    if statuses:
        params["status"] = statuses
    checked = ServerFilterSerializer(data=params)
    checked.is_valid(raise_exception=True)
    data = checked.validated_data
    rows = _servers(project)
    if data.get("status"):
        rows = rows.filter(status__in=data["status"])
    if not data["include_deleted"] and Status.DELETED not in data.get("status", ()):
        rows = rows.live()
    if data.get("region"):
        rows = rows.filter(region__slug=data["region"])
    if data.get("flavor"):
        try:
            rows = rows.filter(flavor_id=uuid.UUID(data["flavor"]))
        except ValueError:
            rows = rows.filter(flavor__name=data["flavor"])
    if data.get("image"):
        rows = rows.filter(image_id=data["image"])
    if data.get("q"):
        rows = servers_ui.search_name_or_address(rows, data["q"])
    return rows.defer("user_data"), ORDERINGS[data["ordering"]]


def _answer(project: Project, servers: list[Server], request: Request) -> list[dict[str, Any]]:
    return ServerSerializer(servers, many=True, context={"project": project, "request": request}).data


def _one(request: Request, project: Project, server: Server, code: int = status.HTTP_202_ACCEPTED) -> Response:
    server = _servers(project).get(pk=server.pk)  # as the lists show it, with what the action changed
    return Response(ServerSerializer(server, context={"project": project, "request": request}).data, status=code)


# --- launching -----------------------------------------------------------------------------------------------------


def _catalog(request: Request, project: Project, data: dict[str, Any]) -> dict[str, Any]:
    """The region, flavor, image and key pair a launch names, as objects; a field error for any that is not there
    to choose (another region's flavor, another member's key pair: a launch uses the caller's own)."""
    region = open_regions().filter(slug=data["region"]).first()
    if region is None:
        raise serializers.ValidationError({"region": [_("No open region has this code.")]})
    errors: dict[str, list[str]] = {}
    flavor = offered_flavors(region).filter(pk=data["flavor"]).first()
    if flavor is None:
        errors["flavor"] = [_("This instance type is not offered in %(region)s.") % {"region": region.name}]
    image = offered_images(region).filter(pk=data["image"]).first()
    if image is None:
        errors["image"] = [_("This image is not offered in %(region)s.") % {"region": region.name}]
    keypair = None
    if data["keypair"] is not None:
        keypair = Keypair.objects.live().filter(pk=data["keypair"], project=project, user=request.user).first()
        if keypair is None:
            errors["keypair"] = [_("Choose one of your own key pairs in this project.")]
    networks = _networks(project, region, data["networks"])
    if networks is None:
        errors["networks"] = [_("Instances attach to the project's private network for now; leave this empty.")]
    if errors:
        raise serializers.ValidationError(errors)
    return {"region": region, "flavor": flavor, "image": image, "keypair": keypair, "network_ids": networks}


def _networks(project: Project, region: Region, asked: list[str]) -> list[str] | None:
    """The cloud networks to attach: only the project's own (its private network in the region), else None."""
    if not asked:
        return []
    cloud_project = CloudProject.objects.live().filter(project=project, region=region).first()
    own = {cloud_project.network_id} - {""} if cloud_project is not None else set()
    return list(dict.fromkeys(asked)) if set(asked) <= own else None


STATUS_PARAMETER = OpenApiParameter(
    "status",
    {"type": "array", "items": {"type": "string", "enum": Status.values}},
    description="Only these statuses: repeat it or separate with commas (`ACTIVE,STOPPED`).",
    explode=True,
)
LIST_PARAMETERS = [
    STATUS_PARAMETER,
    OpenApiParameter("region", str, description="A region's code."),
    OpenApiParameter("flavor", str, description="An instance type's id or name."),
    OpenApiParameter("image", OpenApiTypes.UUID, description="An image's id."),
    OpenApiParameter("q", str, description="Part of the name or of an IP address."),
    OpenApiParameter(
        "include_deleted", bool, description="Also deleted servers (kept for their history); false by default."
    ),
    OpenApiParameter(
        "ordering",
        str,
        enum=list(ORDERINGS),
        description="`-created_at` (newest first, the default), `created_at` (oldest first), `name` or `-name`.",
    ),
]
CREATE_EXAMPLE = OpenApiExample(
    "Three web servers",
    value={
        "name": "web-{n}",
        "region": "kr-central-1",
        "flavor": "2f0c6a4e-8f6e-4f43-9d54-2f4b1f0a6c11",
        "image": "7d1f9a0e-2b3c-4e5f-8a9b-0c1d2e3f4a5b",
        "count": 3,
        "keypair": None,
        "user_data": "#cloud-config\npackages: [nginx]\n",
    },
    request_only=True,
)


@extend_schema(tags=["servers"])
class ServerListView(generics.ListAPIView):
    serializer_class = ServerSerializer
    pagination_class = CursorPagination

    def get_queryset(self) -> QuerySet[Server]:
        _scope, self.project = project_scope(self.request, self.kwargs["project_id"])
        rows, self.ordering = filtered(self.request, self.project)
        return rows

    def paginate_queryset(self, queryset: QuerySet[Server]) -> list[Server] | None:
        self.paginator.ordering = self.ordering  # newest first by default; the id breaks ties (one launch of many)
        return super().paginate_queryset(queryset)

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "project": self.project}

    @extend_schema(
        summary="List the project's servers, newest first unless `ordering` says (cursor pages)",
        parameters=LIST_PARAMETERS,
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="Launch 1 to 20 servers of one kind (members and above)",
        description=(
            'Answers 202 with `{"servers": [...]}` (one item per server, whatever the count), each PENDING: tasks '
            "build them in the cloud; follow `status` with GET. All or none: the quota is checked for all of them "
            "(409 `quota_exceeded` says by how much). A suspended organization cannot launch (409 "
            "`organization_suspended`)."
        ),
        request=ServerCreateSerializer,
        responses={202: ServerListSerializer},
        examples=[CREATE_EXAMPLE],
    )
    @idempotent
    def post(self, request: Request, project_id: uuid.UUID) -> Response:
        _scope, project = project_scope(request, project_id)
        data = ServerCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        chosen = _catalog(request, project, data.validated_data)
        servers = actions.create_servers(
            actor=api_actor(request),
            project=project,
            name=data.validated_data["name"],
            count=data.validated_data["count"],
            user_data=data.validated_data["user_data"],
            security_groups=data.validated_data["security_groups"],
            **chosen,
        )
        rows = {row.pk: row for row in _servers(project).filter(pk__in=[s.pk for s in servers])}
        body = {"servers": _answer(project, [rows[s.pk] for s in servers], request)}
        headers = {}
        if len(servers) == 1:
            headers["Location"] = reverse("api:server", args=[project.pk, servers[0].pk])
        return Response(body, status=status.HTTP_202_ACCEPTED, headers=headers)


@extend_schema(tags=["servers"])
class ServerDetailView(APIView):
    @extend_schema(summary="A server (a deleted one too: status DELETED)", responses=ServerSerializer)
    def get(self, request: Request, project_id: uuid.UUID, server_id: uuid.UUID) -> Response:
        project, server = _server(request, project_id, server_id)
        return Response(ServerSerializer(server, context={"project": project, "request": request}).data)

    @extend_schema(
        summary="Rename a server (members and above)", request=ServerRenameSerializer, responses=ServerSerializer
    )
    def patch(self, request: Request, project_id: uuid.UUID, server_id: uuid.UUID) -> Response:
        project, server = _server(request, project_id, server_id)
        data = ServerRenameSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        server = actions.rename_server(actor=api_actor(request), server=server, name=data.validated_data["name"])
        return _one(request, project, server, status.HTTP_200_OK)

    @extend_schema(
        summary="Delete a server, in any status (also ERROR); allowed while the organization is suspended",
        description="Answers 202 with the server, DELETING; a second delete meanwhile is a 409 `conflict`.",
        responses={202: ServerSerializer},
    )
    def delete(self, request: Request, project_id: uuid.UUID, server_id: uuid.UUID) -> Response:
        project, server = _server(request, project_id, server_id)
        server = actions.delete_server(actor=api_actor(request), server=server)
        return _one(request, project, server)


def _flavor(server: Server, flavor_id: uuid.UUID) -> Flavor:
    flavor = offered_flavors(server.region).filter(pk=flavor_id).first()
    if flavor is None:
        raise serializers.ValidationError(
            {"flavor": [_("This instance type is not offered in %(region)s.") % {"region": server.region.name}]}
        )
    return flavor


def _image(server: Server, image_id: uuid.UUID) -> Image:
    image = offered_images(server.region).filter(pk=image_id).first()
    if image is None:
        raise serializers.ValidationError(
            {"image": [_("This image is not offered in %(region)s.") % {"region": server.region.name}]}
        )
    return image


def run_action(request: Request, server: Server, data: dict[str, Any]) -> Server:
    """Run one lifecycle action through `infra.actions.servers` as the request's actor."""
    actor = api_actor(request)
    match data["action"]:
        case "resize":
            return actions.resize_server(actor=actor, server=server, flavor=_flavor(server, data["flavor"]))
        case "rebuild":
            return actions.rebuild_server(actor=actor, server=server, image=_image(server, data["image"]))
        case "reboot" if data["hard"]:
            return actions.run_one_click(actor=actor, server=server, op="reboot_hard")
        case name:
            return actions.run_one_click(actor=actor, server=server, op=name)


ACTIONS_DESCRIPTION = "\n".join(f"- `{name}`: {help_text}" for name, help_text in ACTIONS) + (
    "\n\nAnswers 202 with the server in its new transitional status (locks answer at once). A suspended "
    "organization may stop its servers (and delete them), nothing else: 409 `organization_suspended`. An action "
    "the status does not allow is a 409 `conflict`."
)


@extend_schema(tags=["servers"])
class ServerActionView(APIView):
    @extend_schema(
        summary="Run a lifecycle action on a server (members and above)",
        description=ACTIONS_DESCRIPTION,
        request=ServerActionSerializer,
        responses={202: ServerSerializer},
        examples=[
            OpenApiExample("Stop", value={"action": "stop"}, request_only=True),
            OpenApiExample("Hard reboot", value={"action": "reboot", "hard": True}, request_only=True),
            OpenApiExample(
                "Change the type",
                value={"action": "resize", "flavor": "2f0c6a4e-8f6e-4f43-9d54-2f4b1f0a6c11"},
                request_only=True,
            ),
        ],
    )
    @idempotent
    def post(self, request: Request, project_id: uuid.UUID, server_id: uuid.UUID) -> Response:
        project, server = _server(request, project_id, server_id)
        data = ServerActionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        server = run_action(request, server, data.validated_data)
        return _one(request, project, server)


project = "v1/projects/<uuid:project_id>/"

urlpatterns: list[URLPattern] = [
    path(f"{project}servers/", ServerListView.as_view(), name="servers"),
    path(f"{project}servers/<uuid:server_id>/", ServerDetailView.as_view(), name="server"),
    path(f"{project}servers/<uuid:server_id>/actions/", ServerActionView.as_view(), name="server_actions"),
]
