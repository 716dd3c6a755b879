// Types of admin-token-rules.mjs (plain JavaScript, shared with the Node scripts).
export declare const MIN_ADMIN_TOKEN_LENGTH: number;
export declare function adminTokenProblem(token: string): string | undefined;
export declare const ADMIN_TOKEN_ADVICE: string;
