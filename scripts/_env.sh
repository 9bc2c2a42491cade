# Shared by scripts/test and scripts/demo (sourced, not run): a Python 3.11+ venv in .venv with the
# package installed in editable mode. Re-running is cheap: pip only checks what is already there.

find_python() {
    local candidate
    for candidate in "${PYTHON:-}" python3.11 python3.12 python3.13 python3; do
        [ -n "$candidate" ] || continue
        if command -v "$candidate" >/dev/null 2>&1 &&
            "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            echo "$candidate"
            return 0
        fi
    done
    echo "error: Python 3.11 or newer is needed (set PYTHON=/path/to/python3.11)" >&2
    return 1
}

ensure_venv() {
    local extras="$1"
    if [ ! -x .venv/bin/python ]; then
        local python
        python="$(find_python)"
        echo "==> creating .venv with $python"
        "$python" -m venv .venv
    fi
    # shellcheck disable=SC1091
    . .venv/bin/activate
    if [ -f .venv/.installed ]; then
        echo "==> checking the installed packages in .venv (a few seconds)"
    else
        echo "==> installing grafana-proxy$extras and its dependencies into .venv (first run: about a minute)"
    fi
    python -m pip install --quiet --disable-pip-version-check --no-input -e ".$extras" || return 1
    touch .venv/.installed
    echo "==> grafana-proxy $(python -c "import grafana_proxy; print(grafana_proxy.__version__)") is installed in .venv"
}
