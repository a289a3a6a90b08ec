// Calls to the AgentSpend API with the key the user gave. Errors are RFC 9457 problems; this reads their text.

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail: string,
    readonly errors: { field?: string; reason?: string; line?: number }[] = [],
  ) {
    super(`${status} ${title}: ${detail}`);
  }
}

export class Api {
  constructor(private readonly key: string) {}

  get<T>(path: string, signal?: AbortSignal): Promise<T> {
    return this.send<T>('GET', path, undefined, signal);
  }

  post<T>(path: string, body?: unknown): Promise<T> {
    return this.send<T>('POST', path, body);
  }

  private async send<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
    const headers: Record<string, string> = { Authorization: `Bearer ${this.key}`, Accept: 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal, cache: 'no-store' });
    if (!response.ok) throw await problemOf(response.status, response.headers.get('Content-Type'), await response.text());
    return (response.status === 204 ? undefined : await response.json()) as T;
  }

  /**
   * Uploads a file as multipart/form-data with XMLHttpRequest, the one browser API that reports upload
   * progress; `onProgress` gets the fraction sent (0–1).
   */
  upload<T>(path: string, file: File, onProgress: (fraction: number) => void): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const request = new XMLHttpRequest();
      request.open('POST', path);
      request.setRequestHeader('Authorization', `Bearer ${this.key}`);
      request.setRequestHeader('Accept', 'application/json');
      request.upload.addEventListener('progress', (e) => {
        if (e.lengthComputable) onProgress(e.loaded / e.total);
      });
      request.addEventListener('load', async () => {
        onProgress(1);
        if (request.status >= 200 && request.status < 300) resolve(JSON.parse(request.responseText) as T);
        else reject(await problemOf(request.status, request.getResponseHeader('Content-Type'), request.responseText));
      });
      request.addEventListener('error', () => reject(new ApiError(0, 'Network error', 'The upload did not reach the server.')));
      const form = new FormData();
      form.append('file', file, file.name);
      request.send(form);
    });
  }
}

async function problemOf(status: number, contentType: string | null, text: string): Promise<ApiError> {
  if (contentType?.includes('json')) {
    try {
      const problem = JSON.parse(text) as { title?: string; detail?: string; errors?: { field?: string; reason?: string }[] };
      return new ApiError(status, problem.title ?? 'Error', problem.detail ?? '', problem.errors ?? []);
    } catch {
      // Not the problem+json it claimed to be: fall through to the plain text.
    }
  }
  return new ApiError(status, `HTTP ${status}`, text.slice(0, 300));
}
