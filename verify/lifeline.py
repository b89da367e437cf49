"""Ties the life of eqconform's forkserver to eqconform's: import it only as a forkserver preload.

Importing it asks the kernel to kill the importing process when its parent dies. The forkserver
is started by the eqconform process itself, so when eqconform is killed (even by SIGKILL, which
it cannot catch) the forkserver goes too; the judge workers and the proof worker forked from it
die with it (each sets the same signal), and the runners with them (bubblewrap's
``--die-with-parent``). Without it the forkserver would live on: every process it forks keeps a
copy of the pipe it waits on for eqconform to go, and they wait on it in turn.
"""

from .sandbox import set_parent_death_signal

set_parent_death_signal()
