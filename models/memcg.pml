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
 * Inlines use the caller's scratch locals c, r, q, w, cand, nx2 and reset them to 0 before they return, so a
 * stale scratch value never tells two otherwise equal states apart (the Python checker has no such locals).
 * Ghost state held[t*N+m] = references thread t holds (checks ownership, as the Python checker does).
 */
#ifndef ROUNDS
#define ROUNDS 3
#endif
#define N 5
#define NONE 255
#define ROOT 0
#define ONLINE 0
#define DYING 1
#define OFFLINE 2
#define ZOMBIE 3
#define RELEASED 4
#define NADV 2            /* shrink_worker + one proactive caller on the same (root) cursor */
#define NTHR 3            /* + the offliner */
#define DEAD 2            /* m3: the first leaf, removed mid-walk */

byte parent[N];
byte status[N];
byte extra[N];
byte held[NTHR * N];
byte ndone = 0;

inline init_tree() {
	parent[0] = NONE; parent[1] = 0; parent[2] = 1; parent[3] = 1; parent[4] = 0
}

/* r = total references of m (extra + base + unreleased children) */
inline total_refs(m, r) {
	r = extra[m];
	if :: status[m] < ZOMBIE -> r++ :: else fi;
	if
	:: m != ROOT ->
		c = 1;
		do
		:: c < N -> if :: parent[c] == m && status[c] != RELEASED -> r++ :: else fi; c++
		:: else -> break
		od;
		c = 0
	:: else
	fi
}

/* css_release_work_fn cascade: a zombie with no reference left is released, then its parent is looked at */
inline maybe_release(m0) {
	q = m0;
	do
	:: q != ROOT && q != NONE && status[q] == ZOMBIE ->
		total_refs(q, r);
		if :: r == 0 -> status[q] = RELEASED; q = parent[q] :: else -> break fi
	:: else -> break
	od;
	q = 0; r = 0
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

/* a thread hands its reference on m to the cursor (store / successful cmpxchg) */
inline give(t, m) {
	if
	:: m != ROOT && m != NONE -> assert(held[t * N + m] > 0); held[t * N + m]--
	:: else
	fi
}

/* css_next_descendant_pre(pos, root) with released memcgs unlinked */
inline next_pre(pos, root, out) {
	if
	:: pos == NONE -> out = root
	:: else ->
		out = NONE;
		c = pos + 1;
		do
		:: c < N && !(parent[c] == pos && status[c] != RELEASED) -> c++
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
				:: c < N && !(parent[c] == parent[w] && status[c] != RELEASED) -> c++
				:: else -> break
				od;
				if :: c < N -> out = c; break :: else -> w = parent[w] fi
			od
		fi
	fi;
	c = 0; w = 0
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
	res = cand;
	cand = 0; nx2 = 0; r = 0
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
	assert(cursor == NONE || status[cursor] == ONLINE);
	c = 0
}

inline thread_done(t) {
	c = 0;
	do
	:: c < N -> assert(held[t * N + c] == 0); c++
	:: else -> break
	od;
	c = 0;
	ndone++
}
