# The shell start-up of JupyterLab's terminals for the course (see wslab/lab.py): the learner's
# own ~/.bashrc first, then the course's Python first on PATH, since a ~/.bashrc (pyenv, conda)
# may put another Python in front of it.
if [ -f ~/.bashrc ]; then . ~/.bashrc; fi
if [ -n "$WSLAB_SCRIPTS" ]; then PATH="$WSLAB_SCRIPTS:$PATH"; export PATH; fi
