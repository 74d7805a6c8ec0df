/*
 * models/memcg.pml - the memcg tree, css references and mem_cgroup_iter shared by the cursor models.
 *
 * Mirrors zswaplab/concurrency/state.py (which mirrors zswaplab/kernel/memcg.py): memcgs are numbered in
 * pre-order, children sit in creation (= index) order, lifecycle in the kernel's order: ONLINE -> DYING
 * (kill_css: percpu_ref_kill, css_tryget_online fails, CSS_ONLINE still set while css_offline() runs the
 * cursor cleanup, kill_css's own reference counted as the base) -> OFFLINE (offline_css cleared CSS_ONLINE)
 * -> ZOMBIE (css_killed_work_fn's css_put) -> RELEASED (unlinked from the parent's children).
 * Total references = extra + base + one per unreleased child. Tree: the 5-memcg tree of
 * TreeShape.balanced(5): root(0) -> m1(1) -> {m3(2), m4(3)}; root -> m2(4).
 * Ghost state held[t*N+m] = references thread t holds (checks ownership, as the Python checker does).
 *
 * State-for-state with the Python checker (zswaplab/concurrency/checker.py; tests/concurrency/test_spin.py
 * checks the counts are equal with reductions off on both sides):
 *  - every process is one loop of d_steps, one per yield of the Python generator: the guard `pc == X` is the
 *    Python thread's suspended position, the body applies that atomic operation and runs the Python code up to
 *    the next yield (control flow, returns from `yield from`), so a Promela transition is a Python transition;
 *  - the process locals are the Python frames' locals: a local the Python frame has not bound yet (or whose
 *    frame has returned) is UNSET, a thread that finished resets them all (its frame is gone);
 *  - the tree shape is a macro and the inlines' scratch variables are `hidden` (not in the state vector):
 *    there is no init process;
 *  - the Python side runs without its ghost walk positions (observe=False), without symmetry and partial-order
 *    reduction, and explores past violations (stop_at_violation=False, as pan -c0).
 */
#ifndef ROUNDS
#define ROUNDS 3
#endif
#define N 5
#define NONE 255          /* NULL */
#define UNSET 254         /* a Python local not bound (yet / any more) */
#define ROOT 0
#define ONLINE 0
#define DYING 1
#define OFFLINE 2
#define ZOMBIE 3
#define RELEASED 4
#define NADV 2            /* shrink_worker + one proactive caller on the same (root) cursor */
#define NTHR 3            /* + the offliner */
#define DEAD 2            /* m3: the first leaf, removed mid-walk */
#define DONE 0            /* pc of a finished thread */

/* TreeShape.balanced(5) relabelled in pre-order: parents (None, 0, 1, 1, 0) */
#define PARENT(x) ((x) == 1 -> 0 : ((x) == 2 -> 1 : ((x) == 3 -> 1 : ((x) == 4 -> 0 : NONE))))

byte status[N];
byte extra[N];
byte held[NTHR * N];
byte ndone = 0;           /* finished threads (a function of the pcs: adds no state) */
hidden byte c, r, q, w, cand, nx2;   /* scratch of the inlines, only used inside one d_step */

/* r = total references of m (extra + base + unreleased children) */
inline total_refs(m, r) {
	r = extra[m];
	if :: status[m] < ZOMBIE -> r++ :: else fi;
	if
	:: m != ROOT ->
		c = 1;
		do
		:: c < N -> if :: PARENT(c) == m && status[c] != RELEASED -> r++ :: else fi; c++
		:: else -> break
		od
	:: else
	fi
}

/* css_release_work_fn cascade: a zombie with no reference left is released, then its parent is looked at */
inline maybe_release(m0) {
	q = m0;
	do
	:: q != ROOT && q != NONE && status[q] == ZOMBIE ->
		total_refs(q, r);
		if :: r == 0 -> status[q] = RELEASED; q = PARENT(q) :: else -> break fi
	:: else -> break
	od
}

/* css_put / mem_cgroup_put (NULL and root are no-ops) */
inline css_put(t, m) {
	if
	:: m != ROOT && m != NONE ->
		assert(status[m] != RELEASED);     /* use after release */
		assert(extra[m] > 0);              /* double put */
		extra[m]--;
		if :: held[t * N + m] > 0 -> held[t * N + m]-- :: else fi;
		maybe_release(m)
	:: else
	fi
}

/* mem_cgroup_online(): CSS_ONLINE still set */
#define MEMCG_ONLINE(m) (status[m] <= DYING)

/* mem_cgroup_tryget_online */
inline tryget_online(t, m, ok) {
	if
	:: m == ROOT -> ok = 1
	:: m != ROOT && status[m] == ONLINE -> extra[m]++; held[t * N + m]++; ok = 1
	:: else -> ok = 0
	fi
}

/* a thread hands its reference on m to a cursor walking root's subtree (store / successful cmpxchg) */
inline give(t, m, root) {
	if
	:: m != root && m != NONE -> assert(held[t * N + m] > 0); held[t * N + m]--
	:: else
	fi
}

/* a thread takes over the reference a cursor walking root's subtree held on m (xchg) */
inline take(t, m, root) {
	if :: m != root && m != NONE -> held[t * N + m]++ :: else fi
}

/* css_next_descendant_pre(pos, root) with released memcgs unlinked */
inline next_pre(pos, root, out) {
	if
	:: pos == NONE -> out = root
	:: else ->
		out = NONE;
		c = pos + 1;
		do
		:: c < N && !(PARENT(c) == pos && status[c] != RELEASED) -> c++
		:: else -> break
		od;
		if
		:: c < N -> out = c
		:: else ->
			w = pos;
			do
			:: w == root -> break
			:: else ->
				c = w + 1;
				do
				:: c < N && !(PARENT(c) == PARENT(w) && status[c] != RELEASED) -> c++
				:: else -> break
				od;
				if :: c < N -> out = c; break :: else -> w = PARENT(w) fi
			od
		fi
	fi
}

/* one mem_cgroup_iter step: css_next_descendant_pre + css_tryget (root: no reference) */
inline iter_next(t, root, pos, res) {
	assert(pos == NONE || status[pos] != RELEASED);
	cand = pos;
	do
	:: next_pre(cand, root, nx2);
		cand = nx2;
		if
		:: cand == NONE || cand == root -> break
		:: else ->
			total_refs(cand, r);
			if :: status[cand] != RELEASED && r > 0 -> extra[cand]++; held[t * N + cand]++; break :: else fi
		fi
	od;
	res = cand
}

/* shrink_memcg(m): the caller must hold a reference */
inline use(t, m) {
	if
	:: m != ROOT && m != NONE -> assert(status[m] != RELEASED && held[t * N + m] > 0)
	:: else
	fi
}

/* all threads done: references balanced against the cursor, cursor not resting on an offline memcg */
inline final_check(cursor) {
	c = 1;
	do
	:: c < N ->
		if :: cursor == c -> assert(extra[c] == 1) :: else -> assert(extra[c] == 0) fi;
		c++
	:: else -> break
	od;
	assert(cursor == NONE || status[cursor] == ONLINE)
}

/* the thread's generator returned (its locals are reset by the caller): it holds no reference; the last
 * thread to finish runs the end-of-run checks (the Python checker runs them on the all-finished state) */
inline thread_done(t, cursor) {
	c = 0;
	do
	:: c < N -> assert(held[t * N + c] == 0); c++
	:: else -> break
	od;
	ndone++;
	if :: ndone == NTHR -> final_check(cursor) :: else fi;
	pc = DONE
}
