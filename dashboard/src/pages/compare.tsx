/**
 * The compare page (issue 6): being built.
 */
import "../ui.css";
import { mount } from "../mount.tsx";

mount(() => <h1>compare</h1>);
