# find_python: prints a python3 that imports numpy and PIL; installs them with apt when none does.
_py_ok() { "$1" -c 'import numpy, PIL' >/dev/null 2>&1; }
find_python() {
  local c
  for c in /usr/bin/python3 python3; do
    if command -v "$c" >/dev/null 2>&1 && _py_ok "$c"; then command -v "$c"; return 0; fi
  done
  if command -v apt-get >/dev/null 2>&1; then
    echo "installing python3-numpy and python3-pil with apt-get..." >&2
    local sudo=""
    if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
    if $sudo apt-get install -y -q python3-numpy python3-pil >&2 || \
       { $sudo apt-get update -q >&2 && $sudo apt-get install -y -q python3-numpy python3-pil >&2; }; then
      if _py_ok /usr/bin/python3; then echo /usr/bin/python3; return 0; fi
    fi
  fi
  echo "error: no python3 with numpy and Pillow found; install them (apt-get install python3-numpy python3-pil) and try again" >&2
  return 1
}
