"""Every command's help, as the CLI gives it to typer: a paragraph is one line, which the
terminal's width then wraps. Typer kept the docstrings' own line breaks, so at 80
columns `what-if --help` broke mid-sentence ("(inserted" / "into" / "the rule timeline")."""

from __future__ import annotations

import os

from typer.testing import CliRunner

from cli.main import app


def _commands(typer_app, prefix=()):
    for info in typer_app.registered_commands:
        yield (*prefix, info.name or info.callback.__name__), info
    for group in typer_app.registered_groups:
        yield from _commands(group.typer_instance, (*prefix, group.name))


def test_every_paragraph_of_every_command_s_help_is_one_line():
    helps = {name: info.help for name, info in _commands(app)}
    assert len(helps) > 15 and all(helps.values()), helps
    for name, text in helps.items():
        for paragraph in text.split("\n\n"):
            assert "\n" not in paragraph and paragraph == paragraph.strip(), (name, paragraph)


def test_what_if_help_at_80_columns_wraps_its_sentence_whole():
    shown = CliRunner().invoke(app, ["what-if", "--help"], env={**os.environ, "COLUMNS": "80"}).output
    lines = [line.strip() for line in shown.splitlines()]
    prose = " ".join(lines[lines.index(next(l for l in lines if l.startswith("Scores the period"))):][:3])
    assert "(inserted into the rule timeline at its effective_from) and compares with the current results" in prose
    assert all(len(line) > 40 for line in lines[lines.index(next(l for l in lines if l.startswith("Scores"))):][:2])


def test_no_command_s_help_is_cut_short_at_80_columns():
    """Rich cuts a word longer than its column with an ellipsis: `serve --help` showed
    `$CERTLEDGER_API_DAT…`, the variable a user must set, cut short."""
    cut = {}
    for name, _ in _commands(app):
        shown = CliRunner().invoke(app, [*name, "--help"], env={**os.environ, "COLUMNS": "80"}).output
        assert "usage:" in shown.lower(), (name, shown)  # (bench hands its arguments to argparse)
        # (The help texts' own ellipses: "postgresql://…", what-if's "…up to this date".)
        lines = [line for line in shown.splitlines()
                 if "…" in line.replace("postgresql://…", "").replace("…up to", "")]
        if lines:
            cut[" ".join(name)] = lines
    assert not cut, cut
    serve = CliRunner().invoke(app, ["serve", "--help"], env={**os.environ, "COLUMNS": "80"}).output
    assert "$CERTLEDGER_API_DATABASE_URL" in serve and "$CERTLEDGER_DATABASE_URL" in serve


def test_db_before_the_command_s_name_is_told_where_it_goes():
    """`certledger --db URL init` (as `git -C DIR status` is written) answered "No such
    option: --db", as if the ledger could not be chosen at all, and `certledger --help`
    names no --db: the user was left to find it in each command's help."""
    for args in (["--db", "sqlite:///x.db", "init"], ["--db=sqlite:///x.db", "results", "--json"]):
        done = CliRunner().invoke(app, args, env={**os.environ, "COLUMNS": "200"})
        assert done.exit_code == 2, (args, done.output)
        assert "No such option" not in done.output
        assert f"certledger {args[-1] if args[-1] != '--json' else 'results'} --db URL" in done.output, done.output
    assert "--db" not in CliRunner().invoke(app, ["--help"]).output  # (each command's help says it)


def test_db_before_a_group_s_name_is_told_to_follow_its_command():
    """`certledger --db URL tokens list` was told "certledger tokens --db URL …", which
    click answers "No such option: --db": a group (tokens, rules) takes no --db, each of
    its commands does."""
    for args, told in ((["--db", "sqlite:///x.db", "tokens", "list"], "certledger tokens COMMAND --db URL"),
                       (["--db", "sqlite:///x.db", "rules", "list"], "certledger rules COMMAND --db URL")):
        done = CliRunner().invoke(app, args, env={**os.environ, "COLUMNS": "200"})
        assert done.exit_code == 2 and told in done.output, (args, done.output)
    assert "No such option" not in CliRunner().invoke(app, ["tokens", "list", "--help"]).output
    assert "--db" in CliRunner().invoke(app, ["tokens", "list", "--help"], env={**os.environ, "COLUMNS": "200"}).output
