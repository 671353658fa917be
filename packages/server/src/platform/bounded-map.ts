/** A Map that forgets its oldest entries beyond `max` (insertion order), for in-process caches. */
export function boundedMap<K, V>(max: number) {
  const map = new Map<K, V>();
  return {
    get: (k: K) => map.get(k),
    set(k: K, v: V) {
      map.delete(k);
      map.set(k, v);
      if (map.size > max) map.delete(map.keys().next().value as K);
    },
    delete: (k: K) => map.delete(k),
    clear: () => map.clear(),
    get size() {
      return map.size;
    },
  };
}
