import { TEST_API_KEY } from './test-env';

/** An HTTP client of the API at `baseUrl` with the test key: the API in this process (ApiServer) or in its own (ApiProcess). */
export class ApiClient {
  constructor(public baseUrl = '') {}

  /** fetch against the API with the test key (pass `auth: false` to send none). */
  async request(
    method: string,
    path: string,
    { body, auth = true, headers = {} }: { body?: unknown; auth?: boolean; headers?: Record<string, string> } = {},
  ): Promise<{ status: number; headers: Headers; body: any; text: string }> {
    const response = await fetch(this.baseUrl + path, {
      method,
      headers: {
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(auth ? { authorization: `Bearer ${TEST_API_KEY.secret}` } : {}),
        ...headers,
      },
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    return { status: response.status, headers: response.headers, body: parsed, text };
  }

  /** Submits one task and returns its id (asserting the 202). */
  async submit(role: string, payload: unknown, extra: Record<string, unknown> = {}): Promise<string> {
    const response = await this.request('POST', '/v1/tasks', { body: { role, payload, ...extra } });
    if (response.status !== 202) throw new Error(`submit failed: ${response.status} ${response.text}`);
    return (response.body as { id: string }).id;
  }

  async task(id: string): Promise<any> {
    const response = await this.request('GET', `/v1/tasks/${id}`);
    return response.status === 200 ? response.body : undefined;
  }
}
