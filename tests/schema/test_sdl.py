from pathlib import Path

from regie.schema.schema import schema

SDL_FILE = Path(__file__).parents[2] / "regie" / "schema" / "schema.graphql"


def test_the_committed_sdl_is_the_schema() -> None:
    # A schema change must show as a diff of schema.graphql: run `python -m regie.schema --write`.
    assert SDL_FILE.read_text(encoding="utf-8") == schema.as_str() + "\n"


def test_every_field_and_argument_has_a_description() -> None:
    from graphql import GraphQLObjectType

    missing = []
    for name, graphql_type in schema._schema.type_map.items():
        if name.startswith("__") or not isinstance(graphql_type, GraphQLObjectType):
            continue
        for field_name, field in graphql_type.fields.items():
            if not field.description:
                missing.append(f"{name}.{field_name}")
            missing += [
                f"{name}.{field_name}({a})" for a, arg in field.args.items() if not arg.description
            ]
    assert missing == []
