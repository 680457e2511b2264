// IndexedDB plumbing: promises over requests, transactions and databases. Imports nothing.

/** @template T @param {IDBRequest<T>} req @returns {Promise<T>} */
export const done = (req) =>
  new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });

/**
 * Run `body(stores)` in one transaction; resolves with its value once the transaction commits
 * (a calculation counts as saved only then), rejects when it aborts.
 * @template T
 * @param {IDBDatabase} db
 * @param {string[]} names
 * @param {IDBTransactionMode} mode
 * @param {(stores: Record<string, IDBObjectStore>) => Promise<T>} body
 * @returns {Promise<T>}
 */
export function transact(db, names, mode, body) {
  return new Promise((resolve, reject) => {
    const tx = db.transaction(names, mode);
    let value;
    let failure = null;
    tx.oncomplete = () => resolve(value);
    tx.onabort = () => reject(failure ?? tx.error ?? new DOMException("Aborted", "AbortError"));
    body(Object.fromEntries(names.map((name) => [name, tx.objectStore(name)]))).then(
      (result) => (value = result),
      (error) => {
        failure = error;
        try {
          tx.abort();
        } catch {
          /* already over */
        }
      },
    );
  });
}

/**
 * Open (or create, or upgrade) a database; it closes itself when another page upgrades it.
 * @param {string} name
 * @param {number} version
 * @param {(db: IDBDatabase, oldVersion: number) => void} upgrade
 */
export async function openDatabase(name, version, upgrade) {
  const opening = indexedDB.open(name, version);
  opening.onupgradeneeded = (event) => upgrade(opening.result, event.oldVersion);
  const db = await done(opening);
  db.onversionchange = () => db.close();
  return db;
}

/** Does the database exist? (Without `indexedDB.databases`, assume it may.) @param {string} name */
export async function databaseExists(name) {
  if (!indexedDB.databases) return true;
  return (await indexedDB.databases()).some((db) => db.name === name);
}
