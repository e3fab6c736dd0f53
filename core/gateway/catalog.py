"""The union a workspace offers: its bundles' tools, resources, templates and prompts.

A bundle counts while it runs *or a process for it is on its way* (starting,
respawning, crashed with a restart due), with the lists its last process
gave, so a respawn with the same lists changes nothing a client sees.
Tools and prompts are renamed ``<server>__<name>`` (see :mod:`naming`);
resource URIs are left as the bundle wrote them and routed by lookup.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from core.gateway.naming import prefixed

#: bounds on a bundle's paginated resource/template/prompt lists
MAX_LIST_PAGES = 100
MAX_LISTED = 10_000


async def all_pages(list_page: Any, field_name: str) -> list[Any]:
    """Every page of a paginated list (resources, templates, prompts), bounded."""
    import mcp_types as types

    items: list[Any] = []
    cursor: str | None = None
    for _ in range(MAX_LIST_PAGES):
        result = await list_page(
            params=types.PaginatedRequestParams(cursor=cursor) if cursor else None
        )
        items += getattr(result, field_name)
        cursor = result.next_cursor
        if not cursor or len(items) >= MAX_LISTED:
            break
    return items[:MAX_LISTED]


@dataclass
class Extras:
    """What a bundle's process offers besides tools (mcp_types objects)."""

    resources: list[Any] = field(default_factory=list)
    templates: list[Any] = field(default_factory=list)
    prompts: list[Any] = field(default_factory=list)


@dataclass
class Union:
    tools: list[Any] = field(default_factory=list)
    resources: list[Any] = field(default_factory=list)
    templates: list[Any] = field(default_factory=list)
    prompts: list[Any] = field(default_factory=list)
    #: prefixed tool name -> (server, tool); known tools of every installed bundle
    tool_routes: dict[str, tuple[str, str]] = field(default_factory=dict)
    prompt_routes: dict[str, tuple[str, str]] = field(default_factory=dict)
    resource_routes: dict[str, str] = field(default_factory=dict)
    template_routes: list[tuple[re.Pattern[str], str]] = field(default_factory=list)

    def signature(self, kind: str) -> str:
        items = getattr(self, kind)
        return json.dumps([i.model_dump(mode="json") for i in items], sort_keys=True)

    def route_resource(self, uri: str) -> str | None:
        server = self.resource_routes.get(uri)
        if server is not None:
            return server
        for pattern, name in self.template_routes:
            if pattern.fullmatch(uri):
                return name
        return None


def template_pattern(template: str) -> re.Pattern[str]:
    """An RFC 6570 template as a regex: each ``{...}`` matches one or more characters."""
    parts = re.split(r"\{[^}]*\}", template)
    return re.compile(".+".join(re.escape(p) for p in parts))


def build(bundles: list[tuple[str, bool, list[Any], Extras | None, list[str]]]) -> Union:
    """``bundles``: (server, offered now, tools, extras, declared tool names), server order."""
    import mcp_types as types

    union = Union()
    for server, offered, tools, extras, declared in bundles:
        for name in declared:
            union.tool_routes.setdefault(prefixed(server, name), (server, name))
        for tool in tools:
            name = prefixed(server, tool.name)
            union.tool_routes[name] = (server, tool.name)
            if offered:
                union.tools.append(
                    types.Tool(
                        name=name,
                        title=getattr(tool, "title", None),
                        description=tool.description or None,
                        input_schema=tool.input_schema or {"type": "object"},
                    )
                )
        if extras is None:
            continue
        for prompt in extras.prompts:
            name = prefixed(server, prompt.name)
            union.prompt_routes[name] = (server, prompt.name)
            if offered:
                union.prompts.append(prompt.model_copy(update={"name": name}))
        for resource in extras.resources:
            union.resource_routes.setdefault(str(resource.uri), server)
            if offered:
                union.resources.append(resource)
        for template in extras.templates:
            union.template_routes.append((template_pattern(template.uri_template), server))
            if offered:
                union.templates.append(template)
    return union
