"""Putting cowsnap where AI coding agents run shell commands (docs/agents.md).

hook: the PreToolUse answer that rewrites a Bash command to run recorded;
permissions: Claude Code's permission rules, so the rewrite keeps the user's choices;
settings: installing the hook into Claude Code's and Codex's settings files;
wrapper: the shell text of a rewritten command, and the script its inner shell runs.
"""
